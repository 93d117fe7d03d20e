"""The guard: a task's contract, enforced in three layers (action policy before a tool
runs, an OS sandbox around commands, the diff contract on the real git state)."""
