// linalg-harness report: sortable tables, the metric selector, plot tooltips and the
// plots' log/linear buttons.
// Inlined into every page; no network, no libraries. Strings are set with textContent only.
"use strict";
(function () {
  function cellValue(row, index) {
    const cell = row.cells[index];
    if (cell.dataset.v === undefined) return cell.textContent.trim().toLowerCase();
    return cell.dataset.v === "" ? null : Number(cell.dataset.v);
  }

  function compare(a, b) {
    if (a === null || b === null) return a === b ? 0 : a === null ? 1 : -1;
    return a < b ? -1 : a > b ? 1 : 0;
  }

  function sortBy(table, header, index) {
    const ascending = header.getAttribute("aria-sort") !== "ascending";
    for (const th of table.tHead.rows[0].cells) th.removeAttribute("aria-sort");
    header.setAttribute("aria-sort", ascending ? "ascending" : "descending");
    const body = table.tBodies[0];
    const rows = Array.from(body.rows);
    rows.sort(function (r, s) {
      const a = cellValue(r, index), b = cellValue(s, index);
      if (a === null || b === null) return compare(a, b); // missing values last either way
      return ascending ? compare(a, b) : compare(b, a);
    });
    for (const row of rows) body.appendChild(row);
  }

  for (const table of document.querySelectorAll("table.sortable")) {
    Array.from(table.tHead.rows[0].cells).forEach(function (th, index) {
      th.tabIndex = 0;
      th.addEventListener("click", function () { sortBy(table, th, index); });
      th.addEventListener("keydown", function (event) {
        if (event.key === "Enter" || event.key === " ") {
          event.preventDefault();
          sortBy(table, th, index);
        }
      });
    });
  }

  for (const select of document.querySelectorAll("select.metric-choice")) {
    select.addEventListener("change", function () {
      for (const other of document.querySelectorAll("select.metric-choice")) {
        other.value = select.value;
      }
      for (const element of document.querySelectorAll("[data-metric]")) {
        element.hidden = element.dataset.metric !== select.value;
      }
    });
  }

  // A figure holds its plot on log axes and on linear ones; its button shows one or the other.
  for (const button of document.querySelectorAll("figure.chart button.scale-toggle")) {
    const figure = button.closest("figure");
    button.hidden = false;
    button.addEventListener("click", function () {
      const linear = button.getAttribute("aria-pressed") !== "true";
      button.setAttribute("aria-pressed", String(linear));
      button.textContent = linear ? "log axes" : "linear axes";
      for (const variant of figure.querySelectorAll(".variant[data-scale]")) {
        variant.hidden = variant.dataset.scale !== (linear ? "linear" : "log");
      }
    });
  }

  const tooltip = document.createElement("div");
  tooltip.className = "tooltip";
  tooltip.hidden = true;
  document.body.appendChild(tooltip);
  // A mark's <title> says what the point is; its series' name is on the enclosing group.
  for (const mark of document.querySelectorAll("svg.plot .mark")) {
    const title = mark.querySelector("title");
    const series = mark.closest("[data-name]");
    const name = series ? series.dataset.name : "";
    mark.dataset.tip = [name, title ? title.textContent : ""].filter(Boolean).join("\n");
    if (title) title.remove();
  }
  // A figure's linear plot is drawn without tips: its marks take those of the log plot's
  // marks, which are the same points in the same order.
  for (const linear of document.querySelectorAll("figure.chart .variant[data-scale=linear]")) {
    const tips = linear.parentElement.querySelectorAll(".variant[data-scale=log] [data-tip]");
    linear.querySelectorAll(".mark").forEach(function (mark, index) {
      if (tips[index]) mark.dataset.tip = tips[index].dataset.tip;
    });
  }
  document.addEventListener("mouseover", function (event) {
    const mark = event.target.closest ? event.target.closest("[data-tip]") : null;
    if (!mark) {
      tooltip.hidden = true;
      return;
    }
    tooltip.textContent = mark.dataset.tip;
    tooltip.hidden = false;
    const box = mark.getBoundingClientRect();
    tooltip.style.left = Math.min(box.right + 8, window.innerWidth - tooltip.offsetWidth - 4) + "px";
    tooltip.style.top = Math.max(box.top - tooltip.offsetHeight - 4, 4) + "px";
  });
})();
