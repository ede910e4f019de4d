// Data quality (every check of every load, /api/quality) and run history
// (/api/runs) of one dataset, with rows loaded and quarantined per run.
//
// Page state: qpg, rpg = table pages.
import { apiUrl, csvUrl, getJson } from "../api.js";
import { makeChart } from "../charts.js";
import { card, h } from "../dom.js";
import { formatCount } from "../format.js";
import { dataTable } from "../table.js";

const QUALITY_PAGE_SIZE = 50;
const RUNS_PAGE_SIZE = 25;

export async function renderQuality(root, context) {
  const { dataset, params } = context;
  const page = (key) => Math.max(0, Number.parseInt(params.get(key) ?? "0", 10) || 0);
  const go = (changes) => context.go("quality", {
    qpg: params.get("qpg") ?? "", rpg: params.get("rpg") ?? "", ...changes,
  });
  const qualityRequest = { dataset: dataset.name, page: page("qpg"), pagesize: QUALITY_PAGE_SIZE };
  const runsRequest = { dataset: dataset.name, page: page("rpg"), pagesize: RUNS_PAGE_SIZE };
  const [quality, runs] = await Promise.all([
    getJson("/api/quality", qualityRequest),
    getJson("/api/runs", runsRequest),
  ]);
  if (context.stale()) return;

  const checks = quality.data ?? [];
  const runRows = runs.data ?? [];
  const grid = h("div", { class: "grid" });
  root.append(grid);

  const statusCounts = new Map();
  for (const row of checks) statusCounts.set(row.status, (statusCounts.get(row.status) ?? 0) + 1);
  const chartBox = h("div", { class: "chart", role: "img", "aria-label": "Rows per run" });
  grid.append(card("Rows per run", {
    id: "runs-chart",
    subtitle: "Every row read is either loaded or quarantined with its reason.",
  }, chartBox));
  grid.append(card("Checks on this page", { id: "check-summary" },
    h("ul", { class: "status-list" }, [...statusCounts.entries()].map(([status, count]) =>
      h("li", {}, statusBadge(status), ` ${formatCount(count)}`))),
    h("p", { class: "subtitle" }, `${formatCount(quality.total ?? checks.length)} check results in all, newest first.`),
    h("p", {}, h("a", { href: apiUrl("/api/quality", { dataset: dataset.name }) }, "Quality as JSON"))));

  grid.append(card("Data quality", { id: "quality", wide: true },
    dataTable({
      id: "quality", columns: columnsOf(quality), rows: checks,
      csv: csvUrl("/api/quality", qualityRequest),
      format: {
        status: (value) => statusBadge(value), sample: (value) => truncated(value), details: (value) => truncated(value),
      },
      paging: { page: qualityRequest.page, pageSize: QUALITY_PAGE_SIZE, total: quality.total ?? checks.length,
        go: (p) => go({ qpg: p }) },
    })));
  grid.append(card("Run history", { id: "runs", wide: true },
    dataTable({
      id: "runs", columns: columnsOf(runs), rows: runRows,
      csv: csvUrl("/api/runs", runsRequest),
      format: {
        status: (value) => statusBadge(value), partitions: (value) => truncated(value), message: (value) => truncated(value),
      },
      paging: { page: runsRequest.page, pageSize: RUNS_PAGE_SIZE, total: runs.total ?? runRows.length,
        go: (p) => go({ rpg: p }) },
    })));

  const ordered = [...runRows].sort((a, b) => (a.run_id ?? 0) - (b.run_id ?? 0));
  if (ordered.length) {
    queueMicrotask(() => {
      if (context.stale()) return;
      makeChart(chartBox, "runs", {
        tooltip: { trigger: "axis", valueFormatter: (value) => formatCount(value) },
        legend: { top: 0 },
        grid: { left: 64, right: 16, top: 32, bottom: 28 },
        xAxis: {
          type: "category", data: ordered.map((row) => `#${row.run_id}${row.command ? ` ${row.command}` : ""}`),
        },
        yAxis: { type: "value" },
        series: [
          { type: "bar", name: "Loaded", stack: "rows", barMaxWidth: 56, data: ordered.map((row) => row.rows_loaded ?? 0) },
          {
            type: "bar", name: "Quarantined", stack: "rows", barMaxWidth: 56, itemStyle: { color: "#c53030" },
            data: ordered.map((row) => row.rows_quarantined ?? 0),
          },
        ],
      });
    });
  }
}

function columnsOf(answer) {
  if (Array.isArray(answer.columns) && answer.columns.length) return answer.columns;
  const first = (answer.data ?? [])[0];
  return first ? Object.keys(first) : [];
}

function statusBadge(status) {
  const value = String(status ?? "");
  return h("span", { class: `badge status-${value.toLowerCase().replace(/[^a-z]/g, "")}` }, value);
}

// Long JSON samples are cut for the table; the cell's title holds them whole.
function truncated(value) {
  const text = value === null || value === undefined ? "" : String(value);
  if (text.length <= 80) return text;
  return h("span", { title: text }, `${text.slice(0, 79)}…`);
}
