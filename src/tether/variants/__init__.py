"""Variants: many attempts at one task in parallel worktrees, gated, scored, shown in a
gallery, one picked."""
