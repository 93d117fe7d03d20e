"""The four files that hold tether's state: AGENTS.md, PLAN.md, PROGRESS.md, VERIFY.md."""
