"""Other benchmark tools' results in and out of a store (pytest-benchmark's files)."""
