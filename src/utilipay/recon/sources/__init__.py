"""Statement parsers: each file format read into the one normalized form."""
