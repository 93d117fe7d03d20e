"""Constraints in plain words compiled into rules, and the semantic checks that enforce
them on the real diff (types, signatures, dependencies, tests)."""
