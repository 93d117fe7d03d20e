"""The report's charts, drawn with plotly (the optional ``report`` extra, imported only
here and only when a report is written). plotly.js is embedded once in the page, so it
works from file:// with no network. Each chart is a ``Chart``: its series names go into
the page (``data-series``) so a test can check one drawn element per series."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tether.report.session import Session, Step, TaskRun

COLORS = {
    "model: first token": "#7b9fd4",
    "model: generation": "#2f5fa7",
    "tools": "#8e6bbf",
    "fix": "#d9a441",
    "guard": "#5aa5a0",
    "step gates": "#e07b39",
    "task gates": "#b8532a",
    "tether": "#9a9a9a",
    "start-up": "#cfcfcf",
    "model": "#2f5fa7",
    "gates": "#e07b39",
}


@dataclass
class Chart:
    id: str
    title: str
    series: list[str]
    html: str


def draw(session: Session) -> list[Chart] | None:
    """Every chart of the session; None when plotly cannot be imported."""
    try:
        _go()
    except ImportError:
        return None
    figures = [
        ("split", "Where the session's time went", _split(session)),
        ("timeline", "Each step: model, tools, guard, gates, tether", _timeline(session)),
        ("tokens", "Tokens per model call", _tokens(session)),
        ("speed", "Speed per model call", _speed(session)),
        ("context", "The context meter against the handoff threshold", _context(session)),
    ]
    charts = []
    for index, (chart_id, title, figure) in enumerate(f for f in figures if f[2] is not None):
        assert figure is not None
        figure.update_layout(
            title=title,
            margin={"l": 80, "r": 20, "t": 50, "b": 40},
            height=_height(figure),
            legend={"orientation": "h", "y": -0.15},
            template="plotly_white",
        )
        html = figure.to_html(
            full_html=False,
            include_plotlyjs=index == 0,  # plotly.js once, inline
            div_id=f"chart-{chart_id}",
            config={"displaylogo": False, "responsive": True},
        )
        names = [str(trace.name) for trace in figure.data]
        charts.append(Chart(chart_id, title, names, html))
    return charts


def _height(figure: Any) -> int:
    rows = len(getattr(figure.data[0], "y", None) or []) if figure.data else 0
    horizontal = getattr(figure.data[0], "orientation", None) == "h" if figure.data else False
    return min(6000, max(260, 120 + 22 * rows)) if horizontal else 340


def _go() -> Any:
    import plotly.graph_objects as go

    return go


def _split(session: Session) -> Any:
    go = _go()
    split = session.split()
    parts = [
        ("model", split.model),
        ("tools", split.tools),
        ("gates", split.gates),
        ("tether", split.tether),
        ("start-up", split.startup),
    ]
    figure = go.Figure()
    for name, seconds in parts:
        figure.add_trace(
            go.Bar(
                name=name,
                y=["session"],
                x=[round(seconds, 3)],
                orientation="h",
                marker_color=COLORS[name],
                hovertemplate=f"{name}: %{{x:.2f}} s<extra></extra>",
            )
        )
    figure.update_layout(barmode="stack", xaxis_title="seconds")
    return figure


def step_label(task: TaskRun, step: Step) -> str:
    return f"{task.key} · {step.number}"


def _timeline(session: Session) -> Any:
    rows = [(task, step) for task in session.tasks for step in task.steps]
    if not rows:
        return None
    go = _go()
    labels = [step_label(t, s) for t, s in rows]
    parts: dict[str, list[float]] = {
        "model: first token": [s.seconds("ttft_s") for _, s in rows],
        "model: generation": [
            max(0.0, s.seconds("model_s") - s.seconds("ttft_s")) for _, s in rows
        ],
        "tools": [s.seconds("tools_s") for _, s in rows],
        "fix": [s.seconds("fix_s") for _, s in rows],
        "guard": [s.seconds("guard_s") for _, s in rows],
        "step gates": [s.step_gates_s + s.seconds("gates_s") for _, s in rows],
        "task gates": [s.task_gates_s for _, s in rows],
        "tether": [s.seconds("harness_s") for _, s in rows],
    }
    figure = go.Figure()
    for name, values in parts.items():
        if any(values):
            figure.add_trace(
                go.Bar(
                    name=name,
                    y=labels,
                    x=[round(v, 4) for v in values],
                    orientation="h",
                    marker_color=COLORS[name],
                    hovertemplate=f"%{{y}} {name}: %{{x:.3f}} s<extra></extra>",
                )
            )
    ends = [s.wall_s for _, s in rows]
    _marks(
        figure,
        go,
        "violation",
        [(labels[i], ends[i]) for i, (_, s) in enumerate(rows) if s.violations],
        "x",
        "#c8372d",
    )
    handoffs = [
        (labels[i], ends[i]) for i, (t, s) in enumerate(rows) if t.handoff and s is t.steps[-1]
    ]
    _marks(figure, go, "handoff", handoffs, "triangle-right", "#a0307f")
    figure.update_layout(
        barmode="stack", xaxis_title="seconds", yaxis={"autorange": "reversed", "type": "category"}
    )
    return figure


def _marks(
    figure: Any, go: Any, name: str, points: list[tuple[str, float]], symbol: str, color: str
) -> None:
    if points:
        figure.add_trace(
            go.Scatter(
                name=name,
                y=[p[0] for p in points],
                x=[p[1] for p in points],
                mode="markers",
                marker={"symbol": symbol, "size": 12, "color": color},
                hovertemplate=f"%{{y}}: {name}<extra></extra>",
            )
        )


def _calls(session: Session) -> list[str]:
    return [f"{i}" for i in range(1, len(session.calls) + 1)]


def _tokens(session: Session) -> Any:
    if not session.calls:
        return None
    go = _go()
    x = _calls(session)
    cached = [int(c.get("cached_tokens") or 0) for c in session.calls]
    fresh = [
        max(0, int(c.get("input_tokens") or 0) - k)
        for c, k in zip(session.calls, cached, strict=True)
    ]
    output = [int(c.get("output_tokens") or 0) for c in session.calls]
    roles = [str(c.get("role")) for c in session.calls]
    figure = go.Figure()
    for name, values, color in (
        ("input, cached", cached, "#5aa5a0"),
        ("input, not cached", fresh, "#d9a441"),
        ("output", output, "#2f5fa7"),
    ):
        figure.add_trace(
            go.Bar(
                name=name,
                x=x,
                y=values,
                marker_color=color,
                customdata=roles,
                hovertemplate=f"call %{{x}} (%{{customdata}}): %{{y}} {name}<extra></extra>",
            )
        )
    figure.update_layout(barmode="stack", xaxis_title="model call", yaxis_title="tokens")
    return figure


def _line(go: Any, name: str, x: list[str], y: list[float], **style: Any) -> Any:
    return go.Scatter(name=name, x=x, y=y, mode=style.pop("mode", "lines+markers"), **style)


def _speed(session: Session) -> Any:
    if not session.calls:
        return None
    go = _go()
    x = _calls(session)
    tps = [float(c.get("output_tps") or 0) for c in session.calls]
    ttft = [round(float(c.get("ttft_s") or 0) * 1000, 1) for c in session.calls]
    figure = go.Figure()
    figure.add_trace(_line(go, "output tokens/s", x, tps, marker_color="#2f5fa7"))
    figure.add_trace(
        _line(go, "time to first token (ms)", x, ttft, yaxis="y2", marker_color="#d9a441")
    )
    figure.update_layout(
        xaxis_title="model call",
        yaxis_title="tokens/s",
        yaxis2={"title": "ms", "overlaying": "y", "side": "right"},
    )
    return figure


def _context(session: Session) -> Any:
    rows = [(t, s) for t in session.tasks for s in t.steps if s.context]
    if not rows:
        return None
    go = _go()
    labels = [step_label(t, s) for t, s in rows]
    used = [float(s.context.get("used") or 0) for _, s in rows]
    limit = [float(s.context.get("limit") or 0) for _, s in rows]
    figure = go.Figure()
    figure.add_trace(_line(go, "context used", labels, used, marker_color="#2f5fa7"))
    figure.add_trace(
        _line(go, "handoff threshold", labels, limit, mode="lines",
              line={"dash": "dash", "color": "#c8372d"})
    )  # fmt: skip
    figure.update_layout(xaxis={"title": "task · step", "type": "category"}, yaxis_title="tokens")
    return figure
