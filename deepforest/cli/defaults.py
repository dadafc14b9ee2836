"""Defaults the command line's parser shows and its commands use (no imports: --help reads them)."""

# Rows read and scored at a time by predict and evaluate: bounds their memory.
DEFAULT_CHUNK_ROWS = 50_000
