"""The report's one HTML file: styles, the page's script and Plotly's inlined.

Every string from the store reaches the page inside one JSON document and is put
on it with ``textContent`` (never as markup); strings that go into Plotly's hover
text, which reads a little HTML, are escaped first. Charts are drawn when they
scroll into view, so a page of 100 charts opens as fast as a page of ten, and
plotly.js (most of the opening time is evaluating it) is run only once the table
is on screen.
"""

from __future__ import annotations

import html
import json
from typing import Any, Final

_STYLE: Final = """
body{font:14px/1.4 system-ui,sans-serif;margin:0;color:#1c2833;background:#f7f9fa}
header{background:#263238;color:#fff;padding:12px 24px}
header h1{font-size:20px;margin:0 0 4px}
main{padding:12px 24px}
section{background:#fff;border:1px solid #dde3e6;border-radius:6px;margin:12px 0;padding:12px}
h2{font-size:16px;margin:0 0 8px}
table{border-collapse:collapse;width:100%}
th,td{padding:3px 8px;border-bottom:1px solid #eceff1;text-align:left;white-space:nowrap}
td.num{text-align:right;font-variant-numeric:tabular-nums}
th{cursor:pointer;user-select:none;background:#eceff1;position:sticky;top:0}
th[aria-sort=ascending]::after{content:" \\25B2"}
th[aria-sort=descending]::after{content:" \\25BC"}
.verdict{color:#fff;border-radius:3px;padding:1px 6px;font-weight:600}
.filters{display:flex;gap:12px;align-items:center;flex-wrap:wrap;margin:8px 0}
.filters input{width:280px}
.charts{display:grid;grid-template-columns:repeat(auto-fill,minmax(460px,1fr));gap:10px}
.chart{border:1px solid #eceff1;border-radius:4px;padding:6px}
.chart h3{font-size:13px;margin:0;overflow:hidden;text-overflow:ellipsis;white-space:nowrap}
.plot{height:230px}
.key span{margin-right:14px}
.notes li{color:#555}
dl{display:grid;grid-template-columns:max-content minmax(0,1fr) max-content minmax(0,1fr);gap:2px 12px;margin:0}
dd{margin:0;overflow-wrap:anywhere}
dt{font-weight:600}
.hidden{display:none}
"""

_SCRIPT: Final = r"""
(function () {
  "use strict";
  var D = JSON.parse(document.getElementById("xetrack-data").textContent);
  var C = D.colours;
  function el(tag, text, cls) {
    var e = document.createElement(tag);
    if (text !== undefined && text !== null) e.textContent = String(text);
    if (cls) e.className = cls;
    return e;
  }
  // Plotly reads a little HTML in hover text: the data's strings are escaped
  function esc(s) {
    return String(s === null || s === undefined ? "" : s)
      .replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
  }
  function badge(verdict) {
    var b = el("span", verdict, "verdict");
    b.style.background = C[verdict] || C["-"];
    return b;
  }
  function fixed(v, digits) { return v === null || v === undefined ? D.missing : Number(v).toFixed(digits); }

  // -- header and details ------------------------------------------------------------
  document.getElementById("summary").textContent = D.summary;
  var notes = document.getElementById("notes");
  D.notes.concat(D.unselected.length ? [D.unselected.length + " benchmarks of the baseline were not selected in the head run (-k, -m, paths): " + D.unselected.join(", ")] : [])
    .forEach(function (n) { notes.appendChild(el("li", n)); });
  var details = document.getElementById("details");
  var fields = [["track_id", "run"], ["commit", "commit"], ["branch", "branch"], ["dirty", "dirty"],
    ["date", "date"], ["status", "status"], ["host", "host"], ["python_version", "Python"],
    ["platform", "platform"], ["cpu_model", "CPU"], ["cpu_count", "CPUs"], ["xdist_workers", "xdist workers"]];
  [["head", D.head], ["base", D.base]].forEach(function (pair) {
    var box = el("div");
    box.appendChild(el("h3", pair[0]));
    if (!pair[1]) { box.appendChild(el("p", "none")); details.appendChild(box); return; }
    var dl = el("dl");
    fields.forEach(function (f) {
      if (!(f[0] in pair[1])) return;
      dl.appendChild(el("dt", f[1]));
      var v = pair[1][f[0]];
      if (f[0] === "date" && v) v = String(v).slice(0, 19).replace("T", " ");
      dl.appendChild(el("dd", v === null || v === undefined ? D.missing : v));
    });
    box.appendChild(dl);
    details.appendChild(box);
  });
  var declared = document.getElementById("declared");
  declared.textContent = D.declared.length ? "Declared metrics: " + D.declared.join(", ") : "";

  // -- filters -------------------------------------------------------------------------
  var search = document.getElementById("search"), vsel = document.getElementById("verdict"),
      gsel = document.getElementById("group");
  var seen = {};
  D.rows.concat(D.series).forEach(function (r) { seen[r.verdict] = 1; });
  D.verdicts.forEach(function (v) { if (v && seen[v]) { var o = el("option", v); o.value = v; vsel.appendChild(o); } });
  var groups = {};
  D.series.concat(D.rows).forEach(function (s) { groups[s.group] = 1; });
  Object.keys(groups).sort().forEach(function (g) { var o = el("option", g); o.value = g; gsel.appendChild(o); });
  function shown(node) {
    var q = search.value.toLowerCase();
    return (!q || node.dataset.benchmark.toLowerCase().indexOf(q) >= 0) &&
      (!vsel.value || node.dataset.verdict === vsel.value) &&
      (!gsel.value || node.dataset.group === gsel.value);
  }
  function filter() {
    document.querySelectorAll("[data-benchmark]").forEach(function (n) {
      n.classList.toggle("hidden", !shown(n));
    });
  }
  [search, vsel, gsel].forEach(function (i) { i.addEventListener("input", filter); });
  function tag(node, r) {
    node.dataset.benchmark = r.benchmark; node.dataset.verdict = r.verdict; node.dataset.group = r.group;
  }

  // -- the comparison table, sortable --------------------------------------------------
  var body = document.querySelector("#comparison tbody");
  D.rows.forEach(function (r) {
    var tr = el("tr"); tag(tr, r);
    var cells = [
      [r.benchmark, r.benchmark], [r.metric, r.metric],
      [r.base, r.base_value, 1], [r.head, r.head_value, 1],
      [r.ratio === null ? D.missing : "x" + fixed(r.ratio, 3), r.ratio, 1],
      [r.interval ? fixed(r.interval[0], 3) + " \u2013 " + fixed(r.interval[1], 3) : D.missing, r.interval ? r.interval[0] : null, 1],
      [r.floor === null ? D.missing : "\u00b1" + (100 * r.floor).toFixed(1) + "%", r.floor, 1],
      [r.source, r.source], [r.base_n + "/" + r.head_n, r.head_n, 1]
    ];
    cells.forEach(function (c) {
      var td = el("td", c[0], c[2] ? "num" : "");
      td.dataset.sort = c[1] === null || c[1] === undefined ? "" : c[1];
      tr.appendChild(td);
    });
    var vt = el("td"); vt.appendChild(badge(r.verdict + (r.unstable ? " (unstable)" : "")));
    vt.firstChild.style.background = C[r.verdict] || C["-"];
    vt.dataset.sort = D.verdicts.indexOf(r.verdict);
    tr.appendChild(vt);
    body.appendChild(tr);
  });
  document.querySelectorAll("#comparison th").forEach(function (th, index) {
    th.addEventListener("click", function () {
      var up = th.getAttribute("aria-sort") !== "ascending";
      document.querySelectorAll("#comparison th").forEach(function (h) { h.removeAttribute("aria-sort"); });
      th.setAttribute("aria-sort", up ? "ascending" : "descending");
      var rows = Array.prototype.slice.call(body.rows);
      rows.sort(function (a, b) {
        var x = a.cells[index].dataset.sort, y = b.cells[index].dataset.sort;
        var nx = parseFloat(x), ny = parseFloat(y), order;
        // a missing value goes last either way
        if (x === "" || y === "") return (x === "") - (y === "");
        if (!isNaN(nx) && !isNaN(ny)) order = nx - ny;
        else order = x < y ? -1 : x > y ? 1 : 0;
        return up ? order : -order;
      });
      rows.forEach(function (r) { body.appendChild(r); });
    });
  });

  // -- charts, drawn when they scroll into view ----------------------------------------
  var ticks = [], labels = [];
  var every = Math.max(1, Math.ceil(D.runs.length / 12));
  D.runs.forEach(function (r, i) { if (i % every === 0 || i === D.runs.length - 1) { ticks.push(i); labels.push(r.commit); } });
  var config = {displayModeBar: false, responsive: true};
  function layout(s, extra) {
    var title = s.metric + (s.unit ? " (" + s.unit + ")" : "");
    if (s.metric !== D.time_metric && s.direction) title += s.direction === "max" ? ", higher is better" : ", lower is better";
    var l = {margin: {l: 60, r: 10, t: 8, b: 40}, showlegend: false, hovermode: "closest",
      yaxis: {title: {text: esc(title), font: {size: 11}}, rangemode: "tozero", zeroline: false},
      font: {size: 11}};
    for (var k in extra) l[k] = extra[k];
    return l;
  }
  function history(div, s) {
    var xs = [], ys = [], up = [], down = [], colour = [], text = [], marks = {};
    s.points.forEach(function (p) {
      var run = D.runs[p[0]], verdict = D.verdicts[p[5]];
      xs.push(p[0]); ys.push(p[1]); up.push(p[3] - p[1]); down.push(p[1] - p[2]);
      colour.push(verdict && verdict !== "unchanged" ? (C[verdict] || C["-"]) : "#37474f");
      text.push("commit " + esc(run.commit) + (run.branch ? " (" + esc(run.branch) + ")" : "") +
        (run.dirty ? ", dirty" : "") + "<br>" + esc(run.date) + "<br>median " + p[1] + " " + esc(s.unit) +
        " (IQR " + p[2] + "\u2013" + p[3] + "), n=" + p[4] +
        (verdict ? "<br>" + esc(verdict) + (p[6] !== null ? " x" + fixed(p[6], 3) : "") : ""));
      if (verdict === "regressed" || verdict === "improved") {
        (marks[verdict] = marks[verdict] || {x: [], y: []}).x.push(p[0]);
        marks[verdict].y.push(p[1]);
      }
    });
    var traces = [{x: xs, y: ys, type: "scatter", mode: "lines+markers", text: text, hoverinfo: "text",
      line: {color: "#90a4ae", width: 1.5}, marker: {color: colour, size: 6},
      error_y: {type: "data", symmetric: false, array: up, arrayminus: down, color: "#b0bec5", thickness: 1, width: 2}}];
    Object.keys(marks).forEach(function (v) {
      traces.push({x: marks[v].x, y: marks[v].y, type: "scatter", mode: "markers", hoverinfo: "skip",
        marker: {symbol: v === "regressed" ? "triangle-up" : "triangle-down", size: 13, color: C[v]}});
    });
    if (s.gaps.length) {
      // where it should have run and did not: a cross on the axis
      traces.push({x: s.gaps.map(function (g) { return g[0]; }), y: s.gaps.map(function () { return 0; }),
        type: "scatter", mode: "markers", hoverinfo: "text", cliponaxis: false,
        text: s.gaps.map(function (g) { return esc(g[1]) + " at " + esc(D.runs[g[0]].commit); }),
        marker: {symbol: "x", size: 10, color: s.gaps.map(function (g) { return C[g[1]] || C["-"]; })}});
    }
    Plotly.newPlot(div, traces, layout(s, {xaxis: {zeroline: false, tickvals: ticks, ticktext: ticks.map(function (t, i) { return esc(labels[i]); }),
      range: [-0.5, D.runs.length - 0.5], tickangle: -30}}), config);
  }
  function distribution(div, d) {
    var traces = ["base", "head"].map(function (side) {
      return {y: d[side], type: "box", name: side + " (n=" + d[side + "_n"] + ")", boxpoints: "outliers",
        marker: {color: side === "head" ? C[d.verdict] : "#607d8b"}, hoverinfo: "y"};
    });
    Plotly.newPlot(div, traces, layout(d, {xaxis: {}}), config);
  }
  var pending = [];
  function card(parent, item, draw, kind) {
    var box = el("div", null, "chart " + kind); tag(box, item);
    var h = el("h3", item.benchmark + (item.metric !== D.time_metric ? " \u2014 " + item.metric : ""));
    h.title = item.benchmark;
    h.appendChild(document.createTextNode(" "));
    h.appendChild(badge(item.verdict));
    box.appendChild(h);
    var div = el("div", null, "plot");
    box.appendChild(div);
    parent.appendChild(box);
    pending.push({div: div, draw: function () { draw(div, item); }});
  }
  var timings = document.getElementById("history"), metrics = document.getElementById("metrics"),
      dists = document.getElementById("distributions");
  D.series.forEach(function (s) { card(s.metric === D.time_metric ? timings : metrics, s, history, "history-chart"); });
  D.distributions.forEach(function (d) { card(dists, d, distribution, "distribution-chart"); });
  [["metrics-section", D.series.some(function (s) { return s.metric !== D.time_metric; })],
   ["distributions-section", D.distributions.length > 0]].forEach(function (p) {
    document.getElementById(p[0]).classList.toggle("hidden", !p[1]);
  });
  // plotly.js takes most of the page's opening time to evaluate: it runs once the
  // table is on screen (after the load event, or when a chart needs it first)
  function withPlotly() {
    var source = document.getElementById("plotly-js");
    if (window.Plotly || !source) return;
    var script = document.createElement("script");
    script.textContent = source.textContent;
    document.head.appendChild(script);
    source.parentNode.removeChild(source);
  }
  window.addEventListener("load", function () { setTimeout(withPlotly, 30); });
  function drawOne(job) {
    if (job.done) return;
    job.done = true;
    withPlotly();
    job.draw();
    job.div.parentNode.dataset.drawn = "1";
  }
  if ("IntersectionObserver" in window) {
    var observer = new IntersectionObserver(function (entries) {
      entries.forEach(function (e) {
        if (e.isIntersecting) { observer.unobserve(e.target); drawOne(e.target.job); }
      });
    }, {rootMargin: "300px"});
    pending.forEach(function (job) { job.div.job = job; observer.observe(job.div); });
  } else {
    pending.forEach(drawOne);
  }
  // for printing, and for tests that want every chart at once
  window.xetrackDrawAll = function () { pending.forEach(drawOne); return pending.length; };
  window.addEventListener("beforeprint", window.xetrackDrawAll);
})();
"""

_BODY: Final = """
<header><h1>{title}</h1><div id="summary"></div></header>
<main>
<section><h2>Comparison of the latest run with its baseline</h2>
<div class="key">Marks on the charts:
<span style="color:{regressed}">&#9650; regressed</span>
<span style="color:{improved}">&#9660; improved</span>
<span style="color:{missing}">&#10005; missing or failed</span>
<span>bars: first to third quartile of the run's samples; point: median</span></div>
<div class="filters">
<label>Benchmark <input id="search" type="search" placeholder="name contains"></label>
<label>Verdict <select id="verdict"><option value="">all</option></select></label>
<label>Group <select id="group"><option value="">all</option></select></label>
</div>
<table id="comparison"><thead><tr>
<th>benchmark</th><th>metric</th><th>base</th><th>head</th><th>ratio</th><th>interval</th>
<th>noise floor</th><th>noise from</th><th>n base/head</th><th>verdict</th>
</tr></thead><tbody></tbody></table>
<ul class="notes" id="notes"></ul>
</section>
<section id="history-section"><h2>History per benchmark, commits in git order</h2>
<div class="charts" id="history"></div></section>
<section id="metrics-section"><h2>Declared metrics over commits</h2>
<p id="declared"></p><div class="charts" id="metrics"></div></section>
<section id="distributions-section"><h2>Base and head samples of the changed benchmarks</h2>
<div class="charts" id="distributions"></div></section>
<section><h2>Runs and environment</h2><div class="charts" id="details"></div></section>
</main>
"""


def _json_for_script(data: Any) -> str:
    """JSON that cannot end its ``<script>`` element early (names are data)."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return (
        text.replace("<", "\\u003c")
        .replace(">", "\\u003e")
        .replace("&", "\\u0026")
        .replace("\u2028", "\\u2028")
        .replace("\u2029", "\\u2029")
    )


def render(data: dict[str, Any], plotly_js: str, title: str) -> str:
    """The whole page: ``data`` from :func:`xetrack.report.data.payload`."""
    colours = data["colours"]
    body = _BODY.format(
        title=html.escape(title),
        regressed=colours["regressed"],
        improved=colours["improved"],
        missing=colours["missing"],
    )
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        # nothing may leave the page: scripts and styles are inline, and the
        # browser is told to refuse anything else
        '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
        "script-src 'unsafe-inline' 'unsafe-eval'; style-src 'unsafe-inline'; "
        'img-src data:; font-src data:">'
        f"<title>{html.escape(title)}</title><style>{_STYLE}</style></head><body>"
        f"{body}"
        f'<script type="application/json" id="xetrack-data">{_json_for_script(data)}'
        "</script>"
        f'<script type="text/plain" id="plotly-js">{plotly_js}</script>'
        f"<script>{_SCRIPT}</script>"
        "</body></html>\n"
    )
