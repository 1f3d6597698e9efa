"""The page: one HTML file with its CSS, the Vega runtime, the data and the
script inline — no ``http(s)://`` resource, no webfont."""

from __future__ import annotations

import datetime as _dt
import functools
import html
import json
from typing import Any

import polars as pl

from .._native import __version__
from ..errors import MissingDependency
from ._charts import CHARTS, FONT_STACK, VEGA_CONFIG
from ._data import ALL, PageData

__all__ = ["render", "runtime"]


@functools.lru_cache(maxsize=1)
def runtime() -> str:
    """Vega, Vega-Lite and vega-embed as one classic script (from
    ``vl-convert-python``, which bundles them: nothing is downloaded)."""
    try:
        import vl_convert
    except ImportError as e:
        raise MissingDependency(
            "appstats report inlines the Vega-Lite runtime of vl-convert-python; "
            "install it with: pip install 'appstats[report]'"
        ) from e
    js: str = vl_convert.javascript_bundle("window.vegaEmbed = vegaEmbed;")
    return js.replace("</script", "<\\/script")


def _json(value: Any) -> str:
    # safe inside <script>: no "</" can close the element
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).replace("</", "<\\/")


def _columns(df: pl.DataFrame) -> dict[str, list[Any]]:
    return {c: df[c].to_list() for c in df.columns}


def _fmt(v: float | None) -> str:
    if v is None:
        return "–"
    return f"{v:,.0f}"


def _change(c: float | None) -> str:
    if c is None:
        return '<span class="chg">no previous period</span>'
    cls = "up" if c > 0 else "down" if c < 0 else ""
    return f'<span class="chg {cls}">{c:+.1%} vs previous period</span>'


CSS = """
:root { --fg:#1f2328; --muted:#59636e; --line:#d1d9e0; --bad:#b42318; --warn:#9a6700;
  --good:#1a7f37; --bg:#f6f8fa; }
* { box-sizing: border-box; }
body { margin: 0; font-family: FONT_STACK; color: var(--fg); background: #fff;
  line-height: 1.45; }
header, main { max-width: 1280px; margin: 0 auto; padding: 16px 24px; }
header { border-bottom: 1px solid var(--line); }
h1 { font-size: 22px; margin: 0 0 4px; }
h2 { font-size: 17px; margin: 0 0 2px; }
h3 { font-size: 14px; margin: 0; text-transform: uppercase; letter-spacing: .04em;
  color: var(--muted); }
.meta { color: var(--muted); font-size: 13px; margin: 0; }
.meta code { font-size: 12px; }
.problems { margin: 10px 0 0; padding: 8px 12px; border-left: 4px solid var(--bad);
  background: #fff5f5; font-size: 13px; }
.problems li { margin: 2px 0; }
.badge { display: inline-block; font-size: 11px; font-weight: 600; padding: 0 6px;
  border-radius: 8px; color: #fff; background: var(--bad); margin-right: 4px; }
.badge.gap, .badge.missing { background: var(--warn); }
.ok { color: var(--good); font-size: 13px; margin: 8px 0 0; }
.tiles { display: grid; grid-template-columns: repeat(auto-fill, minmax(240px, 1fr));
  gap: 12px; margin: 12px 0 20px; }
.provider { border: 1px solid var(--line); border-radius: 8px; padding: 10px 12px;
  background: var(--bg); }
.tile { margin-top: 6px; }
.tile .v { font-size: 22px; font-weight: 600; }
.tile .l { font-size: 12px; color: var(--muted); }
.chg { display: block; font-size: 12px; color: var(--muted); }
.chg.up { color: var(--good); } .chg.down { color: var(--bad); }
.controls { position: sticky; top: 0; z-index: 2; background: #fff; padding: 8px 0;
  border-bottom: 1px solid var(--line); display: flex; gap: 12px; align-items: center;
  flex-wrap: wrap; font-size: 14px; }
.controls select, .controls input { font: inherit; padding: 3px 6px; }
section.chart { border: 1px solid var(--line); border-radius: 8px; padding: 12px 14px;
  margin: 16px 0; }
.chart .head { display: flex; justify-content: space-between; align-items: baseline;
  gap: 12px; }
.chart .note { color: var(--muted); font-size: 12px; margin: 2px 0 8px; }
.chart .showing { font-size: 12px; color: var(--muted); }
.chart .plot { width: 100%; overflow-x: auto; }
button.csv { font: inherit; font-size: 12px; padding: 2px 10px; cursor: pointer;
  border: 1px solid var(--line); border-radius: 6px; background: var(--bg); }
footer { color: var(--muted); font-size: 12px; text-align: center; padding: 16px; }
""".replace("FONT_STACK", FONT_STACK)

SCRIPT = """
(function () {
  "use strict";
  const DATA = JSON.parse(document.getElementById("appstats-data").textContent);
  const ALL = DATA.all;
  const charts = {};
  function rows(cols) {
    const keys = Object.keys(cols);
    const n = keys.length ? cols[keys[0]].length : 0;
    const out = new Array(n);
    for (let i = 0; i < n; i++) {
      const r = {};
      for (const k of keys) r[k] = cols[k][i];
      out[i] = r;
    }
    return out;
  }
  function csv(cols) {
    const keys = Object.keys(cols);
    const n = keys.length ? cols[keys[0]].length : 0;
    const cell = (v) => {
      if (v === null || v === undefined) return "";
      if (v === ALL) v = "all apps";
      const s = String(v);
      return /[",\\n\\r]/.test(s) ? '"' + s.replace(/"/g, '""') + '"' : s;
    };
    const lines = [keys.join(",")];
    for (let i = 0; i < n; i++) lines.push(keys.map((k) => cell(cols[k][i])).join(","));
    return lines.join("\\r\\n") + "\\r\\n";
  }
  function download(id) {
    // a BOM: spreadsheet programs then read the Chinese names as UTF-8
    const text = "\\ufeff" + csv(DATA.charts[id].data);
    const blob = new Blob([text], { type: "text/csv;charset=utf-8" });
    const a = document.createElement("a");
    a.href = URL.createObjectURL(blob);
    a.download = id + ".csv";
    document.body.appendChild(a);
    a.click();
    setTimeout(() => { URL.revokeObjectURL(a.href); a.remove(); }, 0);
  }
  function show(app) {
    const jobs = [];
    for (const [id, c] of Object.entries(charts)) {
      const v = c.views.has(app) ? app : ALL;
      const label = document.querySelector("#chart-" + id + " .showing");
      label.textContent = v === ALL
        ? (app === ALL ? "all apps" : "all apps (" + app + " has no such data)")
        : v;
      jobs.push(c.view.signal("view", v).runAsync());
    }
    return Promise.all(jobs);
  }
  async function draw() {
    for (const [id, c] of Object.entries(DATA.charts)) {
      const spec = Object.assign({}, c.spec, {
        data: { name: "rows" },
        datasets: { rows: rows(c.data) },
      });
      const res = await vegaEmbed("#plot-" + id, spec, {
        actions: false, renderer: "svg", config: DATA.config, mode: "vega-lite",
      });
      charts[id] = { view: res.view, views: new Set(c.data.view) };
    }
    for (const b of document.querySelectorAll("button.csv")) {
      b.addEventListener("click", () => download(b.dataset.chart));
    }
    const sel = document.getElementById("app");
    sel.addEventListener("change", () => {
      document.body.dataset.ready = "0";
      show(sel.value).then(() => { document.body.dataset.ready = "1"; });
    });
    const find = document.getElementById("find");
    find.addEventListener("input", () => {
      const q = find.value.trim().toLowerCase();
      for (const o of sel.querySelectorAll("option")) {
        o.hidden = q !== "" && o.value !== ALL && !o.textContent.toLowerCase().includes(q);
      }
    });
    await show(sel.value);
    document.body.dataset.ready = "1";
  }
  draw().catch((e) => {
    console.error(e);
    document.body.dataset.ready = "error";
  });
})();
"""


def _header(d: PageData) -> str:
    e = html.escape
    synced = "; ".join(f"{e(p)}: {e(t)}" for p, t in d.synced.items()) or "no _runs table"
    out = [
        "<header>",
        "<h1>appstats report</h1>",
        f'<p class="meta">lake <code>{e(d.lake)}</code> · period '
        f"<b>{d.start} – {d.end}</b> ({(d.end - d.start).days + 1} days) · "
        f"{len(d.apps)} apps</p>",
        f'<p class="meta">last synced — {synced}</p>',
    ]
    if d.problems:
        out.append('<ul class="problems" id="problems" aria-label="apps with problems">')
        for p in d.problems:
            out.append(
                f'<li><span class="badge {e(p.kind)}">{e(p.kind)}</span>'
                f"<b>{e(p.app)}</b> ({e(p.provider)}): {e(p.detail)}</li>"
            )
        out.append("</ul>")
    else:
        out.append('<p class="ok" id="problems">Every app\'s last run succeeded; no gaps.</p>')
    out.append("</header>")
    return "\n".join(out)


def _tiles(d: PageData) -> str:
    e = html.escape
    out = ['<div class="tiles" id="kpis">']
    for provider in dict.fromkeys(t.provider for t in d.tiles):
        n = sum(1 for p in d.apps.values() if p == provider)
        out.append(f'<div class="provider" data-provider="{e(provider)}">')
        out.append(f"<h3>{e(provider)} · {n} apps</h3>")
        for t in d.tiles:
            if t.provider == provider:
                out.append(
                    f'<div class="tile"><span class="v">{_fmt(t.value)}</span>'
                    f'{_change(t.change)}<div class="l">{e(t.label)}</div></div>'
                )
        out.append("</div>")
    out.append("</div>")
    return "\n".join(out)


def _controls(d: PageData) -> str:
    e = html.escape
    marked = {p.app for p in d.problems}
    opts = [f'<option value="{ALL}">All apps</option>']
    for provider in dict.fromkeys(d.apps.values()):
        opts.append(f'<optgroup label="{e(provider)}">')
        for app, p in d.apps.items():
            if p == provider:
                flag = " ⚠" if app in marked else ""
                opts.append(f'<option value="{e(app)}">{e(app)}{flag}</option>')
        opts.append("</optgroup>")
    return (
        '<div class="controls"><label for="app">App</label>'
        f'<select id="app">{"".join(opts)}</select>'
        '<input id="find" type="search" placeholder="filter apps…" aria-label="filter apps">'
        "</div>"
    )


def render(d: PageData) -> str:
    """The whole page as one string."""
    e = html.escape
    sections = []
    data: dict[str, Any] = {"all": ALL, "config": VEGA_CONFIG, "charts": {}}
    for c in CHARTS:
        df = d.charts.get(c.id)
        if df is None or df.is_empty():
            continue
        data["charts"][c.id] = {"spec": c.spec, "data": _columns(df)}
        sections.append(
            f'<section class="chart" id="chart-{c.id}" data-chart="{c.id}">'
            f'<div class="head"><h2>{e(c.title)}</h2>'
            f'<button class="csv" data-chart="{c.id}" title="this chart\'s rows, every app">'
            "CSV</button></div>"
            f'<p class="note">{e(c.note)} <span class="showing"></span></p>'
            f'<div class="plot" id="plot-{c.id}"></div></section>'
        )
    now = _dt.datetime.now(_dt.timezone.utc)
    return "\n".join(
        [
            "<!DOCTYPE html>",
            '<html lang="zh-CN"><head><meta charset="utf-8">',
            '<meta name="viewport" content="width=device-width, initial-scale=1">',
            f"<title>appstats report {d.start} – {d.end}</title>",
            f"<style>{CSS}</style>",
            "</head><body>",
            _header(d),
            "<main>",
            _tiles(d),
            _controls(d),
            *sections,
            "</main>",
            f"<footer>appstats {e(__version__)} · built {now:%Y-%m-%d %H:%M} UTC from the "
            "lake (no API called) · charts: Vega-Lite, inline</footer>",
            f'<script type="application/json" id="appstats-data">{_json(data)}</script>',
            f"<script>{runtime()}</script>",
            f"<script>{SCRIPT}</script>",
            "</body></html>",
        ]
    )
