"""One exception hierarchy for everything tether reports to a user.

Each error says what went wrong, where (``file:line`` when there is one) and what to
do next. The CLI prints ``render()`` on one line and exits with ``exit_code``; no
traceback is ever shown for these.
"""

from __future__ import annotations


class TetherError(Exception):
    """Base class: a failure tether can explain to its user."""

    exit_code = 1

    def __init__(self, message: str, *, where: str | None = None, hint: str | None = None):
        super().__init__(message)
        self.message = message
        self.where = where
        self.hint = hint

    def render(self) -> str:
        text = f"{self.where}: {self.message}" if self.where else self.message
        return f"{text}; {self.hint}" if self.hint else text

    def __str__(self) -> str:
        return self.render()


class UsageError(TetherError):
    """Bad input from the user: arguments, files, environment. Exit code 2."""

    exit_code = 2


class ConfigError(UsageError):
    """tether.toml (or a TETHER_* variable) is malformed or inconsistent."""


class MissingKeyError(UsageError):
    """A configured role's API key variable is not set."""


class ModelError(TetherError):
    """A model provider failed for good (after retries) or refused the request."""
