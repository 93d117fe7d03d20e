"""Terminal output shared by the commands and the live session: Rich consoles, the
status colours, progress lines from session events."""
