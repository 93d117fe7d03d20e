"""Pure parts, tested on literal strings: the edit matcher and tool-call parsing."""

from __future__ import annotations

from tether.models.types import ToolCall
from tether.tools.actions import CallError, EditFile, ReadFile, Run, parse_call
from tether.tools.edit import EditError, apply_edit

TEXT = "def a():\n    return 1\n\n\ndef b():\n    return 1\n"


def test_exactly_one_occurrence_is_replaced() -> None:
    assert apply_edit(TEXT, "def b():\n    return 1", "def b():\n    return 2") == (
        "def a():\n    return 1\n\n\ndef b():\n    return 2\n"
    )


def test_several_occurrences_name_their_lines() -> None:
    result = apply_edit(TEXT, "    return 1", "    return 3", "m.py")
    assert isinstance(result, EditError)
    assert "occurs 2 times in m.py (at lines 2, 6)" in result.message


def test_not_found_shows_the_closest_lines() -> None:
    result = apply_edit(TEXT, "def b():\n    return 7", "x", "m.py")
    assert isinstance(result, EditError)
    assert "Closest lines (5-6" in result.message
    assert "    5| def b():" in result.message


def test_trailing_whitespace_fallback() -> None:
    text = "x = 1   \ny = 2\t\nz = 3\n"
    # the model dropped the trailing spaces it could not see
    assert apply_edit(text, "x = 1\ny = 2", "x = 10\ny = 20") == "x = 10\ny = 20\nz = 3\n"


def test_fallback_refuses_indentation_differences() -> None:
    text = "if x:\n    go()\n"
    assert isinstance(apply_edit(text, "if x:\n  go()", "if y:\n  go()"), EditError)


def test_empty_search_is_an_error() -> None:
    assert isinstance(apply_edit(TEXT, "", "x"), EditError)


def test_parse_valid_calls() -> None:
    assert parse_call(ToolCall("1", "read_file", '{"path": "a.py", "start_line": 3}')) == ReadFile(
        "a.py", 3, None
    )
    assert parse_call(
        ToolCall("2", "edit_file", '{"path":"a","search":"s","replace":""}')
    ) == EditFile("a", "s", "")
    assert parse_call(ToolCall("3", "run", '{"command": "pytest", "timeout_s": 2.5}')) == Run(
        "pytest", 2.5
    )


def test_parse_errors_are_precise() -> None:
    cases = {
        ("read_file", '{"path": '): "not valid JSON",
        ("read_file", "[1]"): "must be a JSON object",
        ("fly", "{}"): "unknown tool 'fly'",
        ("edit_file", '{"path": "a"}'): "needs the argument 'search'",
        ("read_file", '{"path": "a", "mode": "r"}'): "has no argument 'mode'",
        ("read_file", '{"path": 3}'): "'path' must be a string",
        ("read_file", '{"path": "a", "start_line": 0}'): "must be positive",
        ("read_file", '{"path": "a", "start_line": true}'): "must be a integer",
    }
    for (name, args), words in cases.items():
        result = parse_call(ToolCall("x", name, args))
        assert isinstance(result, CallError), (name, args)
        assert words in result.message, (words, result.message)
