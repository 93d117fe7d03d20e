"""The executor loop: one bounded task, step by step, under its contract."""
