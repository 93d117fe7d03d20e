"""The gallery: one self-contained HTML page per run (inline CSS and JS, screenshots as
data URIs, no network; it works from file://). Served by `tether serve`, it also shows
Pick buttons, per variant and per hunk."""

from __future__ import annotations

import base64
import html
import json
from pathlib import Path

from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexers import DiffLexer

from tether.variants.store import RunRecord, VariantRecord, runs_dir
from tether.vcs.hunks import split

STATUS = {
    "done": "passed",
    "done-unverified": "done, unverified",
    "nothing-changed": "nothing changed",
    "failed": "failed",
    "interrupted": "interrupted",
}

CSS = """
body{font:14px/1.4 system-ui,sans-serif;margin:0;background:#f4f4f6;color:#1d1d1f}
header{padding:16px 24px;background:#1d1d1f;color:#fff}header h1{margin:0 0 4px;font-size:18px}
.meta{opacity:.75;font-size:12px}.bar{padding:10px 24px;display:flex;gap:8px;align-items:center}
button{font:inherit;padding:4px 10px;border-radius:6px;border:1px solid #999;background:#fff;
cursor:pointer}#cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(520px,1fr));
gap:16px;padding:0 24px 24px}.card{background:#fff;border-radius:10px;padding:14px;
box-shadow:0 1px 3px #0002;border-top:5px solid #bbb}.card.passed{border-top-color:#2e9d4a}
.card.failed{border-top-color:#c8372d}.card h2{margin:0;font-size:16px;display:flex;
justify-content:space-between}.badge{font-size:12px;padding:2px 8px;border-radius:10px;
background:#eee}.passed .badge{background:#dff3e4}.failed .badge{background:#f8dcd9}
table{border-collapse:collapse;margin:8px 0;font-size:12px}td,th{padding:2px 8px;
text-align:left;border-bottom:1px solid #eee}.diff{overflow:auto;max-height:420px;
font-size:12px;border:1px solid #eee;border-radius:6px}.diff pre{margin:0;padding:4px 8px}
.hunk{border-top:1px dashed #ddd}.pick{display:none}.served .pick{display:inline-block}
img{max-width:100%;border:1px solid #ddd;border-radius:6px}.reason{font-size:12px;color:#666}
#msg{font-weight:600}
"""

JS = """
function sortBy(key){const c=document.getElementById('cards');
const cards=[...c.children];cards.sort((a,b)=>key==='k'?a.dataset.k-b.dataset.k:
b.dataset[key]-a.dataset[key]);cards.forEach(x=>c.appendChild(x));
document.body.dataset.sorted=key;}
async function pick(k,partial){const body={run:document.body.dataset.run,k:k,hunks:[]};
if(partial){document.querySelectorAll('input[data-variant="'+k+'"]:checked')
.forEach(x=>body.hunks.push(+x.dataset.hunk));}
const m=document.getElementById('msg');m.textContent='picking variant '+k+'...';
const t=document.querySelector('meta[name="tether-token"]');
const r=await fetch('/api/pick',{method:'POST',headers:{'Content-Type':'application/json',
'X-Tether-Token':t?t.content:''},body:JSON.stringify(body)});
const j=await r.json();m.textContent=j.message;}
if(location.protocol.startsWith('http')){document.body.classList.add('served');}
sortBy('score');
"""


def _image(path: str) -> str:
    if not path or not Path(path).is_file():
        return ""
    data = base64.b64encode(Path(path).read_bytes()).decode()
    return f'<img alt="screenshot" src="data:image/png;base64,{data}">'


def _diff_html(variant: VariantRecord) -> str:
    if not variant.diff.strip():
        return '<p class="reason">no changes</p>'
    formatter = HtmlFormatter(noclasses=True, nowrap=False)
    parts = []
    for file in split(variant.diff):
        parts.append(highlight("".join(file.header), DiffLexer(), formatter))
        for number, lines in file.hunks:
            box = (
                f'<label class="pick"><input type="checkbox" data-variant="{variant.k}" '
                f'data-hunk="{number}"> hunk {number}</label>'
            )
            parts.append(
                f'<div class="hunk">{box}{highlight("".join(lines), DiffLexer(), formatter)}</div>'
            )
    return '<div class="diff">' + "".join(parts) + "</div>"


def _card(variant: VariantRecord) -> str:
    passed = variant.metrics.get("gates") == 1
    status = "passed" if passed else "failed"
    label = STATUS.get(variant.status, variant.status) if not passed else "gates passed"
    metrics = "".join(
        f"<tr><th>{html.escape(k)}</th><td>{'n/a' if v is None else v}</td></tr>"
        for k, v in variant.metrics.items()
    )
    gates = "".join(
        f"<tr><td>{html.escape(g.tier)}</td><td>{html.escape(g.gate)}"
        f"</td><td>{html.escape(g.status)}</td><td>{round(g.seconds, 3)}s</td></tr>"
        for g in variant.gates[-8:]
    )
    style = f" · {html.escape(variant.style)}" if variant.style else ""
    return (
        f'<article class="card {status}" data-k="{variant.k}" data-score="{variant.score}" '
        f'data-lines="{variant.metrics.get("diff_lines", 0)}">'
        f'<h2><span>Variant {variant.k}{style}</span><span class="badge">{label} · score '
        f"{variant.score}</span></h2>"
        f'<p class="reason">{html.escape(variant.reason)} · {variant.steps} steps · '
        f"{variant.violations} guard violation(s)</p>"
        f"<table>{metrics}</table>"
        + (
            f"<table><tr><th>tier</th><th>gate</th><th>status</th><th>time</th></tr>{gates}</table>"
            if gates
            else ""
        )
        + _image(variant.screenshot)
        + _diff_html(variant)
        + f'<p><button class="pick" onclick="pick({variant.k},false)">Pick variant '
        f'{variant.k}</button> <button class="pick" onclick="pick({variant.k},true)">Pick '
        "checked hunks</button></p></article>"
    )


def render(run: RunRecord) -> str:
    cards = "".join(_card(v) for v in run.variants)
    weights = html.escape(json.dumps(run.weights))
    return (
        '<!doctype html><html><head><meta charset="utf-8">'
        f"<title>tether variants · {html.escape(run.title)}</title><style>{CSS}</style></head>"
        f'<body data-run="{html.escape(run.id)}"><header><h1>{html.escape(run.title)}</h1>'
        f'<div class="meta">run {html.escape(run.id)} · {len(run.variants)} variants · base '
        f"{run.base_commit[:10]} · {html.escape(run.created)} · rubric weights {weights}</div>"
        '</header><div class="bar">Sort by <button onclick="sortBy(\'score\')">score</button>'
        "<button onclick=\"sortBy('k')\">variant</button><button onclick=\"sortBy('lines')\">"
        'diff size</button> <span id="msg"></span></div>'
        f'<main id="cards">{cards}</main><script>{JS}</script></body></html>'
    )


def write_gallery(root: Path, run: RunRecord) -> Path:
    path = runs_dir(root) / run.id / "index.html"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render(run), encoding="utf-8")
    return path
