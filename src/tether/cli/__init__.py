"""The command line: parses arguments, builds the pieces, calls one function."""
