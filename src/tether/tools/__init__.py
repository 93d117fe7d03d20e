"""The executor's tools: pure parsing of a tool call, separate from applying it."""
