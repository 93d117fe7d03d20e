"""The planner: a smart model turns a goal into PLAN.md tasks with contracts."""
