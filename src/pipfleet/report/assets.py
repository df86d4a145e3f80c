"""The dashboard's stylesheet and script, inlined into every page.

Kept as constants (not package files) so that a wheel needs no package-data entry.
The page's Content-Security-Policy allows exactly these two by hash, so nothing
injected into the page could run or load even if escaping ever failed.
"""

from __future__ import annotations

import base64
import hashlib

# Column labels for the narrow (card) layout, where the table header is a sort bar.
_CARD_LABELS = {
    "#repositories": ("", "State", "Pipfiles", "Findings", "Worst", "Pull request", "Read", ""),
    "#risks": ("", "Repository", "Where", "Package", ""),
    "#packages": ("", "Public PyPI", "Origin", "Used by", "Pinned", "Unpinned", "Versions"),
    ".rpipfiles": ("", "Status", "Lock", "Compliant", "Error"),
    ".rfindings": ("", "Where", "Kind", "Package", "Message", "Change"),
}

CSS = (
    """\
:root{--bg:#f5f6f8;--fg:#1c2230;--muted:#5a6372;--card:#fff;--line:#dde1e8;--accent:#1d5fd1;
--good:#16773a;--bad:#b42318;--warn:#a15c07;--crit:#7a1010;--crit-bg:#fde3e1}
@media (prefers-color-scheme:dark){:root{--bg:#11141a;--fg:#e5e8ee;--muted:#9aa3b1;
--card:#1a1f28;--line:#2c3340;--accent:#6ea8ff;--good:#4fd18b;--bad:#ff7b72;--warn:#f2b84b;
--crit:#ffd2cc;--crit-bg:#5c1712}}
*{box-sizing:border-box}
[hidden]{display:none!important}
body{margin:0;background:var(--bg);color:var(--fg);
font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif}
a{color:var(--accent)}
header.top{max-width:1400px;margin:0 auto;padding:20px 24px 4px}
h1{font-size:1.5rem;margin:0}
h2{font-size:1.15rem;margin:0 0 10px}
.meta{color:var(--muted);margin:4px 0 0}
main{max-width:1400px;margin:0 auto;padding:8px 24px 32px}
section{margin-top:26px}
.cards{display:grid;grid-template-columns:minmax(320px,2fr) repeat(3,minmax(150px,1fr));gap:12px}
.card,.panel{background:var(--card);border:1px solid var(--line);border-radius:10px;
padding:14px 16px}
.card .label{display:block;color:var(--muted);font-size:.85rem}
.card .value{display:block;font-size:1.9rem;font-weight:650;font-variant-numeric:tabular-nums}
.card .sub{display:block;color:var(--muted);font-size:.85rem}
.card.hero{grid-row:span 2}
.card.hero .value{font-size:3rem;line-height:1.1}
.card.alert .value{color:var(--bad)}
svg.trend{display:block;width:100%;height:auto;margin-top:10px}
.trend .grid{stroke:var(--line)}
.trend .axis{fill:var(--muted);font-size:14px}
.trend .line{fill:none;stroke:var(--accent);stroke-width:2.5}
.trend .area{fill:var(--accent);fill-opacity:.12}
.trend .dot{fill:var(--accent)}
.bars{display:grid;grid-template-columns:minmax(9em,max-content) 1fr 5em;gap:6px 12px;
align-items:center}
.bars .n{text-align:right;font-variant-numeric:tabular-nums}
svg.bar{display:block;width:100%;height:14px}
.bar .track{fill:var(--line)}
.bar .sev-critical{fill:#b42318}.bar .sev-high{fill:#e0522d}.bar .sev-medium{fill:#e5a000}
.bar .sev-low{fill:#3b82c4}.bar .sev-info{fill:#8c96a5}
.chips{display:flex;flex-wrap:wrap;gap:6px;margin-top:12px}
.tools{display:flex;flex-wrap:wrap;gap:8px;margin-bottom:10px;align-items:center}
.tools input,.tools select{font:inherit;padding:6px 10px;border:1px solid var(--line);
border-radius:6px;background:var(--card);color:var(--fg)}
.tools input{flex:1 1 240px;min-width:0}
.tools .count{color:var(--muted)}
.scroll{overflow-x:auto}
.scroll.capped{max-height:30rem;overflow:auto;border-bottom:1px solid var(--line)}
.capped thead th{position:sticky;top:0;background:var(--card);z-index:1}
table{width:100%;border-collapse:collapse;background:var(--card);border:1px solid var(--line)}
th,td{text-align:left;padding:7px 10px;border-bottom:1px solid var(--line);vertical-align:top;
overflow-wrap:anywhere}
th,.nowrap{white-space:nowrap}
.num{text-align:right;font-variant-numeric:tabular-nums}
th button{all:unset;cursor:pointer;font-weight:600}
th button:focus-visible{outline:2px solid var(--accent)}
th[aria-sort=ascending] button::after{content:" \\25B2"}
th[aria-sort=descending] button::after{content:" \\25BC"}
td.err{color:var(--bad)}
.badge{display:inline-block;padding:0 8px;border-radius:999px;font-size:.8rem;
border:1px solid currentColor;white-space:nowrap}
.st-compliant,.pr-merged{color:var(--good)}
.st-non-compliant,.st-failed,.pr-open{color:var(--bad)}
.st-failed{font-weight:700}
.st-skipped,.st-no-pipfile,.pr-closed,.pr-superseded,.pr-dismissed,.pr-pending{color:var(--muted)}
.pr-open{color:var(--accent)}
.sev-critical{color:var(--crit);background:var(--crit-bg);font-weight:700}
.sev-high{color:var(--bad)}.sev-medium{color:var(--warn)}.sev-low,.sev-info{color:var(--muted)}
.none{color:var(--muted)}
ul.errors{margin:0;padding-left:1.2em}
.banner{border:1px solid currentColor;border-radius:10px;padding:10px 14px;margin-top:8px;
background:var(--card);overflow-wrap:anywhere}
.banner-ok{color:var(--good)}.banner-warning{color:var(--warn)}
.banner-error{color:var(--bad);background:var(--crit-bg);font-weight:600}
.age{color:var(--muted);font-size:.85rem}
.age.stale{color:var(--bad);font-weight:600}
.note{color:var(--muted);font-size:.85rem;margin:8px 0 0}
details.repository{background:var(--card);border:1px solid var(--line);border-radius:10px;
padding:8px 14px;margin-top:8px}
details.repository summary{cursor:pointer;overflow-wrap:anywhere}
details.repository[open] summary{margin-bottom:8px}
h3{font-size:1rem;margin:14px 0 6px}
.rfindings td:nth-child(3){overflow-wrap:normal}
ul.info{margin:8px 0 0;padding:0;color:var(--muted);font-size:.85rem}
ul.info li{display:inline;margin-left:.6em}
dl.facts{display:grid;grid-template-columns:max-content 1fr;gap:4px 14px;margin:0}
dl.facts dt{color:var(--muted)}dl.facts dd{margin:0;overflow-wrap:anywhere}
dl.facts ul{margin:0;padding-left:1.2em}
.err{color:var(--bad)}
code{font:.85rem/1.3 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;white-space:pre-wrap;
overflow-wrap:anywhere}
ul.errors li{margin:4px 0;overflow-wrap:anywhere}
footer{max-width:1400px;margin:0 auto;padding:0 24px 24px;color:var(--muted);font-size:.85rem}
@media (max-width:1000px){.cards{grid-template-columns:repeat(2,minmax(0,1fr))}
.card.hero{grid-column:1/-1;grid-row:auto}}
@media (max-width:700px){
header.top,main,footer{padding-left:12px;padding-right:12px}
.card .value{font-size:1.6rem}
.bars{grid-template-columns:minmax(7em,38%) 1fr 3.5em;gap:4px 8px}
dl.facts{grid-template-columns:1fr}dl.facts dd{margin-bottom:6px}
.rpipfiles thead,.rfindings thead{display:none}
table.responsive,.responsive tbody,.responsive tr,.responsive td{display:block;width:100%}
table.responsive{border:none;background:none}
.responsive thead tr{display:flex;flex-wrap:wrap;gap:6px;margin-bottom:8px}
.responsive thead th{border:1px solid var(--line);border-radius:6px;padding:3px 8px;
background:var(--card);font-size:.85rem}
.responsive tbody tr{background:var(--card);border:1px solid var(--line);border-radius:10px;
margin-bottom:8px;padding:8px 12px}
.responsive td{border:none;padding:1px 0;display:flex;gap:10px;text-align:left}
.responsive td:empty{display:none}
.responsive td:first-child{font-weight:600}
.responsive td::before{flex:0 0 7.5em;color:var(--muted);font-size:.85rem;font-weight:400}
"""
    + "".join(
        f'{table} td:nth-child({i})::before{{content:"{label}"}}\n'
        for table, labels in _CARD_LABELS.items()
        for i, label in enumerate(labels, start=1)
        if label
    )
    + ",".join(f"{table} td:first-child::before" for table in _CARD_LABELS)
    + "{display:none}\n}\n"
)

JS = """\
"use strict";
(() => {
  const key = (row, index, numeric) => {
    const cell = row.cells[index];
    const raw = cell.dataset.value ?? cell.textContent.trim();
    return numeric ? Number(raw || 0) : raw.toLowerCase();
  };
  for (const table of document.querySelectorAll("table[data-sortable]")) {
    const body = table.tBodies[0];
    for (const th of table.querySelectorAll("th[data-sort]")) {
      th.querySelector("button").addEventListener("click", () => {
        const numeric = th.dataset.sort === "number";
        const ascending = th.getAttribute("aria-sort") !== "ascending";
        for (const other of table.querySelectorAll("th[aria-sort]")) {
          other.removeAttribute("aria-sort");
        }
        th.setAttribute("aria-sort", ascending ? "ascending" : "descending");
        const index = th.cellIndex;
        const rows = Array.from(body.rows, (row) => [key(row, index, numeric), row]);
        rows.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0) * (ascending ? 1 : -1));
        const ordered = document.createDocumentFragment();
        for (const [, row] of rows) ordered.append(row);
        body.append(ordered);
      });
    }
  }
  for (const tools of document.querySelectorAll("[data-filters]")) {
    const table = document.getElementById(tools.dataset.filters);
    const rows = Array.from(table.tBodies[0].rows);
    const texts = new Map(rows.map((row) => [row, row.textContent.toLowerCase()]));
    const text = tools.querySelector("input");
    const selects = Array.from(tools.querySelectorAll("select"));
    const count = tools.querySelector(".count");
    // A select keeps the rows whose data-KEY (space-separated) holds its value.
    const held = (row, select) => !select.value
      || (row.dataset[select.dataset.key] || "").split(" ").includes(select.value);
    const apply = () => {
      const words = text.value.toLowerCase().split(/\\s+/).filter(Boolean);
      let shown = 0;
      for (const row of rows) {
        const hit = selects.every((select) => held(row, select))
          && words.every((word) => texts.get(row).includes(word));
        row.hidden = !hit;
        shown += hit ? 1 : 0;
      }
      count.textContent = `${shown} of ${rows.length}`;
    };
    text.addEventListener("input", apply);
    for (const select of selects) select.addEventListener("change", apply);
    apply();
  }
  // A link to a repository's section opens it.
  const reveal = () => {
    const target = location.hash && document.getElementById(location.hash.slice(1));
    if (target && target.tagName === "DETAILS") {
      target.open = true;
      target.scrollIntoView();
    }
  };
  window.addEventListener("hashchange", reveal);
  reveal();
})();
"""


def csp_hash(source: str) -> str:
    """The CSP source expression allowing exactly this inline script or stylesheet."""
    digest = hashlib.sha256(source.encode("utf-8")).digest()
    return "'sha256-" + base64.b64encode(digest).decode("ascii") + "'"


CONTENT_SECURITY_POLICY = (
    "default-src 'none'; "
    f"style-src {csp_hash(CSS)}; "
    f"script-src {csp_hash(JS)}; "
    "img-src data:; base-uri 'none'; form-action 'none'"
)
