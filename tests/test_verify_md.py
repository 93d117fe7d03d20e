"""VERIFY.md parsing: the format, its errors with line numbers, and a fuzz test."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tether.memory.verify_md import VerifyError, parse_verify

GOOD = """# VERIFY
Notes are ignored.

## step
- `ruff check {changed_py}` — lint what changed
- `pytest -q -x {affected_tests}`
  - timeout: 20

## Notes
Prose under another heading.

## task
- `pytest -q`
* review
- browser http://127.0.0.1:{port}/
  - start: `python -m http.server {port}`
  - expect: Welcome
  - timeout: 60s
"""


def test_parse_good_file() -> None:
    gates = parse_verify(GOOD)
    assert [(g.tier, g.kind, g.name) for g in gates] == [
        ("step", "command", "ruff check {changed_py}"),
        ("step", "command", "pytest -q -x {affected_tests}"),
        ("task", "command", "pytest -q"),
        ("task", "review", "review"),
        ("task", "browser", "browser http://127.0.0.1:{port}/"),
    ]
    assert gates[1].timeout_s == 20
    browser = gates[4]
    assert (browser.start, browser.expect, browser.timeout_s) == (
        "python -m http.server {port}",
        "Welcome",
        60,
    )


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        ("- `pytest`\n", 1, "outside a '## fix', '## step' or '## task' section"),
        ("## fix\n- review\n", 2, "must be a `command`"),
        ("## fix\n- `ruff format {affected_tests}`\n", 2, "a fix command cannot use"),
        ("## step\n- run tests\n", 2, "unrecognised gate"),
        ("## step\n- ``\n", 2, "empty"),
        ("## task\n- browser localhost:3000\n", 2, "http(s) URL"),
        ("## step\n- `pytest`\n  - timeout: soon\n", 3, "positive number"),
        ("## step\n- `pytest`\n  - timeout: 0\n", 3, "positive number"),
        ("## step\n- `pytest`\n  - retries: 3\n", 3, "unknown gate option"),
        ("## step\n- `pytest`\n  - expect: ok\n", 3, "does not apply"),
        ("## task\n- browser http://x/\n  - start:\n", 3, "empty"),
        ("## step\n-  \n- x\n", 3, "unrecognised gate"),
    ],
)
def test_errors_carry_the_line(text: str, line: int, words: str) -> None:
    with pytest.raises(VerifyError) as caught:
        parse_verify(text)
    assert caught.value.where == f"VERIFY.md:{line}"
    assert words in caught.value.render()


LINES = st.sampled_from(
    [
        "## step",
        "## task",
        "## notes",
        "# VERIFY",
        "- `pytest`",
        "- review",
        "- browser http://a/",
        "  - timeout: 5",
        "  - start: `x`",
        "  - expect: y",
        "- ",
        "-",
        "* `ruff`",
        "text",
        "  - timeout: -1",
        "- browser",
        "```",
        "  continuation",
        "\t- start: z",
        "- `",
        "## ",
    ]
)


@settings(max_examples=400, deadline=None)
@given(st.lists(st.one_of(LINES, st.text(max_size=30)), max_size=25))
def test_no_input_crashes_the_parser(lines: list[str]) -> None:
    text = "\n".join(lines)
    try:
        parse_verify(text)
    except VerifyError as exc:
        assert exc.where is not None and exc.where.startswith("VERIFY.md:")
        number = int(exc.where.split(":")[1])
        assert 1 <= number <= max(1, len(text.splitlines()))


def test_a_fix_tier_is_parsed_in_order() -> None:
    gates = parse_verify(
        "## fix\n- `ruff check --fix-only -q {changed_py}`\n- `ruff format -q {changed_py}`\n"
        "  - timeout: 5\n## step\n- `pytest -q {affected_tests}`\n"
    )
    assert [(g.tier, g.command) for g in gates] == [
        ("fix", "ruff check --fix-only -q {changed_py}"),
        ("fix", "ruff format -q {changed_py}"),
        ("step", "pytest -q {affected_tests}"),
    ]
    assert gates[1].timeout_s == 5
