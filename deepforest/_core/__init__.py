"""The cascade's core: binning, the compiled forest engine, forests, layers and their scores.

Private: nothing here is public API. Each module owns one stage of the data flow described in
docs/contributing.md.
"""
