"""The ways a task runs: ``do``, ``plan`` and ``run``, built from one task factory and
one composition root, under one failure policy (see README.md)."""
