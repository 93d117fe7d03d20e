"""Gate results, their condensed output, and the feedback a failing gate sends back."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from tether.sandbox import CommandResult, clip_tail

# do not block a step; preexisting: a checker failed only on findings older than the step
OK_STATUSES = ("pass", "skip", "uncovered", "preexisting")
VERIFIED_STATUSES = ("pass", "skip")  # can prove a task done
PYTEST_SUMMARY = re.compile(
    r"(\d+ (?:passed|failed|errors?|skipped|xfailed|xpassed|deselected)"
    r"(?:, \d+ \w+)*) in ([\d.]+)s"
)


@dataclass(frozen=True)
class GateVerdict:
    """A tier's outcome as the executor loop sees it."""

    passed: bool
    feedback: str = ""
    results: list[GateResult] = field(default_factory=list)

    @property
    def verified(self) -> bool:
        return self.passed and all(r.verified for r in self.results)

    @property
    def uncovered(self) -> list[str]:
        return uncovered_in(self.results)


@dataclass(frozen=True)
class GateResult:
    gate: str
    tier: str
    kind: str
    status: str  # pass | fail | skip | error | timeout | uncovered
    seconds: float
    summary: str
    details: str = ""
    log_path: str = ""
    evidence: str = ""
    uncovered: tuple[str, ...] = ()  # changed functions no selected test reaches
    estimated_s: float | None = None  # what the selection expected to take
    asked_by: tuple[str, ...] = ()  # the gate was asked for more than once (run once)

    @property
    def ok(self) -> bool:
        return self.status in OK_STATUSES

    @property
    def verified(self) -> bool:
        return self.status in VERIFIED_STATUSES

    @classmethod
    def from_record(cls, data: dict[str, Any]) -> GateResult:
        """Back from a stored record (``asdict`` of one, or an older ``event()``)."""
        return cls(
            gate=str(data.get("gate", "")),
            tier=str(data.get("tier", "")),
            kind=str(data.get("kind", "command")),
            status=str(data.get("status", "")),
            seconds=float(data.get("seconds") or 0.0),
            summary=str(data.get("summary", "")),
            details=str(data.get("details", "")),
            log_path=str(data.get("log_path", data.get("log", ""))),
            evidence=str(data.get("evidence", "")),
            uncovered=tuple(str(u) for u in data.get("uncovered") or ()),
            estimated_s=data.get("estimated_s"),
            asked_by=tuple(str(a) for a in data.get("asked_by") or ()),
        )

    def event(self) -> dict[str, Any]:
        return {
            "tier": self.tier,
            "gate": self.gate,
            "status": self.status,
            "seconds": round(self.seconds, 3),
            "summary": self.summary,
            "log": self.log_path,
            "evidence": self.evidence,
            **({"details": self.details[:1500]} if not self.ok and self.details else {}),
            **({"uncovered": list(self.uncovered)} if self.uncovered else {}),
            **({"estimated_s": self.estimated_s} if self.estimated_s is not None else {}),
            **({"asked_by": list(self.asked_by)} if self.asked_by else {}),
        }


def condense(command: str, result: CommandResult) -> tuple[str, str]:
    """A one-line summary and the lines that matter (for pytest: failing test ids and
    assertion lines, not 400 lines of noise)."""
    text = result.stdout + ("\n" + result.stderr if result.stderr.strip() else "")
    if "pytest" in command:
        return _condense_pytest(text, result.exit_code)
    lines = [ln for ln in text.splitlines() if ln.strip()]
    if result.exit_code == 0:
        return (lines[-1][:160] if lines else "ok"), ""
    first = next((ln for ln in lines if re.search(r":\d+(:\d+)?:", ln)), lines[-1] if lines else "")
    return first[:160] or f"exit code {result.exit_code}", clip_tail(text, 30, 3000)


def _condense_pytest(text: str, exit_code: int) -> tuple[str, str]:
    lines = text.splitlines()
    summary_match = None
    for line in reversed(lines):
        summary_match = PYTEST_SUMMARY.search(line)
        if summary_match:
            break
    summary = (
        summary_match.group(0)
        if summary_match
        else ("no tests were collected" if exit_code == 5 else f"exit code {exit_code}")
    )
    if exit_code == 0:
        return summary, ""
    failed = [ln for ln in lines if ln.startswith(("FAILED ", "ERROR "))]
    details = "\n".join([*failed[:20], *_failure_blocks(lines)])
    return summary, details[:MAX_DETAILS] or clip_tail(text, 30, 3000)


_SECTION = re.compile(r"^_{3,} (.+?) _{3,}$")
_LOCATION = re.compile(r"^[\w/.\-]+\.py:\d+: \w+")
MAX_DETAILS = 4000
E_LINES_PER_FAILURE = 6


def _failure_blocks(lines: list[str]) -> list[str]:
    """Each failure's header, its first assertion lines and where it failed, so several
    failures (``--maxfail``) all reach the model, not 24 lines of the first one."""
    blocks: list[str] = []
    current: list[str] = []
    e_lines = 0
    for line in lines:
        section = _SECTION.match(line)
        if section:
            blocks += current
            current, e_lines = [f"--- {section.group(1)}"], 0
        elif current and line.startswith("E ") and e_lines < E_LINES_PER_FAILURE:
            current.append(line)
            e_lines += 1
        elif current and _LOCATION.match(line):
            current.append(line)
        elif not current and (line.startswith("E ") or _LOCATION.match(line)):
            blocks.append(line)  # output without section headers (e.g. -q --tb=short)
    return blocks + current


def feedback(results: list[GateResult], tier: str) -> str:
    """What the executor reads when gates fail, or when a step's change has no test."""
    failing = [r for r in results if not r.ok]
    if not failing:
        return _uncovered_note(results, tier)
    head = "Step gates failed after your change" if tier == "step" else "Task gates failed"
    blocks = [f"{head}:"]
    for result in failing:
        blocks.append(f"✗ {result.gate} ({result.status}, {result.seconds:.1f}s): {result.summary}")
        if result.details:
            blocks.append(result.details)
    blocks.append("Fix these before calling done.")
    return "\n".join(blocks)


def uncovered_in(results: list[GateResult]) -> list[str]:
    """What the results say no test covers, each once, in order."""
    return list(dict.fromkeys(u for result in results for u in result.uncovered))


def _uncovered_note(results: list[GateResult], tier: str) -> str:
    missing = uncovered_in(results)
    if not missing:
        return ""
    later = "the task gates check it when you call done" if tier == "step" else "it is unverified"
    return (
        f"Note: no test covers {', '.join(missing[:5])}, so the step gates could not check "
        f"this change; {later}. If the task asks for new behaviour, add a test for it."
    )
