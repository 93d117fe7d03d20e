"""VERIFY.md gates: parallel, sandboxed, incremental, with evidence."""
