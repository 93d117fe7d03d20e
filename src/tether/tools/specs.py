"""The tools the executor model gets: names, arguments and JSON schemas."""

from __future__ import annotations

from typing import Any

from tether.models.types import ToolSpec


def _schema(required: list[str], **props: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": props,
        "required": required,
        "additionalProperties": False,
    }


STR = {"type": "string"}
LINE = {"type": "integer", "minimum": 1}

READ_FILE = ToolSpec(
    "read_file",
    "Read a text file, with line numbers. Long files come in pages; ask for more with "
    "start_line/end_line.",
    _schema(["path"], path=STR, start_line=LINE, end_line=LINE),
)
LIST_FILES = ToolSpec(
    "list_files",
    "List the repository's files (tracked and untracked, not ignored), optionally "
    "filtered by a glob such as 'src/**/*.py'.",
    _schema([], glob=STR),
)
SEARCH = ToolSpec(
    "search",
    "Search file contents with a Python regular expression; returns 'path:line: text'.",
    _schema(["pattern"], pattern=STR, glob=STR),
)
EDIT_FILE = ToolSpec(
    "edit_file",
    "Replace exactly one occurrence of `search` in a file with `replace`. Copy `search` "
    "exactly from read_file output (without line numbers), with enough lines to be unique.",
    _schema(["path", "search", "replace"], path=STR, search=STR, replace=STR),
)
CREATE_FILE = ToolSpec(
    "create_file",
    "Create a new file with the given content (fails if it exists; use edit_file then).",
    _schema(["path", "content"], path=STR, content=STR),
)
DELETE_FILE = ToolSpec(
    "delete_file",
    "Delete a file (only when the task's contract allows deletion).",
    _schema(["path"], path=STR),
)
RUN = ToolSpec(
    "run",
    "Run a shell command in the repository (sandboxed, no network); returns the exit code "
    "and the tail of its output. Use it for tests and checks, not to edit files.",
    _schema(["command"], command=STR, timeout_s={"type": "number", "exclusiveMinimum": 0}),
)
DONE = ToolSpec(
    "done",
    "Declare the task finished, with a one-paragraph summary of what changed. Call it "
    "only when the task is complete and checks pass.",
    _schema(["summary"], summary=STR),
)

USE_SKILL = ToolSpec(
    "use_skill",
    "Load a skill (a verified procedure from an earlier session, listed under # Skills): "
    "its steps, its parameters and the edits that worked.",
    _schema(["name"], name=STR),
)

EXECUTOR_TOOLS: tuple[ToolSpec, ...] = (
    READ_FILE,
    LIST_FILES,
    SEARCH,
    EDIT_FILE,
    CREATE_FILE,
    DELETE_FILE,
    RUN,
    DONE,
)

# With skills in the repository: use_skill before done (the list stays one per task)
WITH_SKILLS: tuple[ToolSpec, ...] = (*EXECUTOR_TOOLS[:-1], USE_SKILL, DONE)


def offered(skills: bool) -> tuple[ToolSpec, ...]:
    """The executor's tools: use_skill only where there are skills."""
    return WITH_SKILLS if skills else EXECUTOR_TOOLS
