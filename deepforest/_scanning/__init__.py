"""Multi-grained scanning's internals: window geometry, one grain's forests, spill files."""
