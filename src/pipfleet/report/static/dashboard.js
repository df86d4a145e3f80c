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
      const words = text.value.toLowerCase().split(/\s+/).filter(Boolean);
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
