// Tables with a "Download CSV" link to the matching `.csv` endpoint and an
// optional pager. Each cell keeps the API's value in data-raw and each header
// its column name in data-col, so what is shown can be compared with the CSV.
//
//   dataTable({ id: "outliers", columns, rows, csv: csvUrl(path, params),
//               paging: { page, pageSize, total, go: (page) => … } })

import { h } from "./dom.js";
import { columnLabel, formatCount, formatValue, isNumericColumn } from "./format.js";

// rows: arrays (in column order) or objects keyed by column.
// options:
//   id          data-table name (tests and CSS)
//   columns     column names from the API
//   labels      {column: header text} overrides
//   format      {column: (value, row) => string | Node} overrides
//   csv         href of the CSV download, or a function run on click
//   onRowClick  (row object, index) => void; rows become buttons
//   activeRow   (row object) => bool, highlights the selected row
//   paging      {page, pageSize, total, go(page)}
//   caption     text above the table
//   empty       text when there are no rows
export function dataTable(options) {
  const { id, columns, labels = {}, format = {}, csv, onRowClick, activeRow, paging, caption } = options;
  const objects = options.rows.map((row) =>
    Array.isArray(row) ? Object.fromEntries(columns.map((column, i) => [column, row[i]])) : row);
  const numeric = new Set(columns.filter((column) =>
    isNumericColumn(column, objects.find((row) => row[column] !== null && row[column] !== undefined)?.[column])));

  const head = h("tr", {}, columns.map((column) =>
    h("th", { scope: "col", class: numeric.has(column) ? "num" : "", dataset: { col: column } },
      labels[column] ?? columnLabel(column))));
  const body = h("tbody", {}, objects.map((row, index) => {
    const cells = columns.map((column) => {
      const value = row[column];
      const shown = format[column] ? format[column](value, row) : formatValue(column, value);
      return h("td", {
        class: numeric.has(column) ? "num" : "",
        dataset: { raw: value === null || value === undefined ? "" : String(value) },
      }, shown);
    });
    if (!onRowClick) return h("tr", {}, cells);
    const activate = () => onRowClick(row, index);
    return h("tr", {
      class: activeRow && activeRow(row) ? "clickable active" : "clickable",
      tabindex: "0",
      title: "Click to open",
      onclick: activate,
      onkeydown: (event) => {
        if (event.key === "Enter" || event.key === " ") {
          event.preventDefault();
          activate();
        }
      },
    }, cells);
  }));

  const total = paging ? paging.total : objects.length;
  const tools = h("div", { class: "table-tools" },
    h("span", { class: "row-count" }, rowCountText(objects.length, paging, total)),
    csv ? csvLink(csv, id) : null);
  const table = h("table", { class: "data" }, h("thead", {}, head), body);
  return h("div", { class: "table-block", dataset: { table: id } },
    caption ? h("p", { class: "caption" }, caption) : null,
    tools,
    objects.length
      ? h("div", { class: "table-scroll" }, table)
      : h("p", { class: "empty" }, options.empty ?? "No rows."),
    paging ? pager(paging) : null);
}

function rowCountText(shown, paging, total) {
  if (!paging || total <= shown) return `${formatCount(shown)} ${shown === 1 ? "row" : "rows"}`;
  const first = paging.page * paging.pageSize + 1;
  return `rows ${formatCount(first)}–${formatCount(first + shown - 1)} of ${formatCount(total)}`;
}

function csvLink(csv, id) {
  const name = `${id || "table"}.csv`;
  if (typeof csv === "string") {
    return h("a", { class: "csv", href: csv, download: name }, "Download CSV");
  }
  // A POST endpoint: fetch on click, then hand the browser a file to save.
  return h("a", {
    class: "csv", href: "#", role: "button",
    onclick: async (event) => {
      event.preventDefault();
      const link = event.currentTarget;
      let blob;
      try {
        blob = await csv();
      } catch (error) {
        link.textContent = `Download CSV failed: ${error.message}`;
        return;
      }
      const url = URL.createObjectURL(blob);
      const save = h("a", { href: url, download: name, style: "display:none" });
      document.body.append(save);
      save.click();
      save.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10000);
    },
  }, "Download CSV");
}

function pager({ page, pageSize, total, go }) {
  const pages = Math.max(1, Math.ceil(total / pageSize));
  if (pages <= 1) return null;
  return h("div", { class: "pager" },
    h("button", { type: "button", disabled: page <= 0, onclick: () => go(page - 1) }, "‹ Previous"),
    h("span", {}, `page ${page + 1} of ${pages}`),
    h("button", { type: "button", disabled: page >= pages - 1, onclick: () => go(page + 1) }, "Next ›"));
}

// Leaves out `x_cents` when `x` (the same amount in dollars) is there too; the
// CSV download keeps both.
export function withoutCentsTwins(columns) {
  return columns.filter((column) =>
    !(column.endsWith("_cents") && columns.includes(column.slice(0, -"_cents".length))));
}
