"""Git: the repository, shadow checkpoints that move no user branch, worktrees."""
