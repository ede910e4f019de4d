// The forensic models of one dataset (/api/models/{name}?dataset=…): Benford
// first-digit and first-two-digit tests per group, duplicate payment
// candidates, outliers by robust z-score, and forecast vs actual per
// department. A model table with no rows shows the API's note.
//
// Page state: bt = Benford test, bg = Benford group ("kind:name"), bs = which
// Benford groups the table lists ("tested": those with enough amounts to
// judge, the default; "all": small samples too), bpg, dpg, opg, fpg = table
// pages, fd = forecast department.
import { csvUrl, cutString, modelRows } from "../api.js";
import { makeChart, moneyAxisLabel } from "../charts.js";
import { card, h, message, select } from "../dom.js";
import { formatMoney } from "../format.js";
import { dataTable, withoutCentsTwins } from "../table.js";

const PAGE_SIZE = 20;
const TESTS = [["first_digit", "First digit"], ["first_two", "First two digits"]];
// Conformity classes of groups large enough to judge (not "small_sample").
const JUDGED = ["close", "acceptable", "marginal", "nonconformity"];
const PICKER_SIZE = 500;

export async function renderModels(root, context) {
  const { dataset, params } = context;
  const state = Object.fromEntries(["bt", "bg", "bs", "bpg", "dpg", "opg", "fpg", "fd"].map((k) => [k, params.get(k) ?? ""]));
  const page = (key) => Math.max(0, Number.parseInt(state[key] || "0", 10) || 0);
  const test = TESTS.some(([id]) => id === state.bt) ? state.bt : "first_digit";
  const go = (changes) => context.go("models", { ...state, ...changes });
  const base = { dataset: dataset.name };

  // Small samples are listed only on request, or when no group is large enough.
  let benfordScope = state.bs === "all" ? "all" : "tested";
  const benfordRequest = (scope) => ({
    ...base, order: "mad:desc", page: page("bpg"), pagesize: PAGE_SIZE,
    cut: cutString(scope === "all" ? [["test", test]] : [["test", test], ["conformity", JUDGED]]),
  });
  const request = {
    benford: benfordRequest(benfordScope),
    benfordGroups: { ...base, cut: cutString([["test", test]]), order: "amounts:desc", page: 0, pagesize: PICKER_SIZE },
    duplicates: { ...base, order: "score:desc", page: page("dpg"), pagesize: PAGE_SIZE },
    outliers: { ...base, order: "rank:asc", page: page("opg"), pagesize: PAGE_SIZE },
    forecast: { ...base, order: "forecast:desc", page: page("fpg"), pagesize: PAGE_SIZE },
    forecastDepartments: { ...base, order: "forecast:desc", page: 0, pagesize: PICKER_SIZE },
  };
  const [benfordTested, benfordGroups, duplicates, outliers, forecast, forecastDepartments] = await Promise.all([
    modelRows("benford", request.benford),
    modelRows("benford", request.benfordGroups),
    modelRows("duplicate_payments", request.duplicates),
    modelRows("outliers", request.outliers),
    modelRows("forecast", request.forecast),
    modelRows("forecast", request.forecastDepartments),
  ]);
  if (context.stale()) return;
  let benford = benfordTested;
  if (benfordScope === "tested" && !(benford.data ?? []).length && (benfordGroups.data ?? []).length) {
    benfordScope = "all";
    request.benford = benfordRequest("all");
    benford = await modelRows("benford", request.benford);
    if (context.stale()) return;
  }

  // The chosen Benford group (default: the one with the most amounts).
  const groups = benfordGroups.data ?? [];
  const groupKey = (row) => `${row.group_kind}:${row.group_name}`;
  // A group beyond the picker's list (chosen in the table) is still shown.
  let chosen = groups.find((row) => groupKey(row) === state.bg) ??
    (benford.data ?? []).find((row) => groupKey(row) === state.bg);
  if (!chosen && state.bg.includes(":")) {
    const kind = state.bg.slice(0, state.bg.indexOf(":"));
    const name = state.bg.slice(state.bg.indexOf(":") + 1);
    const answer = await modelRows("benford", {
      ...base, cut: cutString([["group_kind", kind], ["group_name", name], ["test", test]]), page: 0, pagesize: 1,
    });
    if (context.stale()) return;
    chosen = (answer.data ?? [])[0];
  }
  if (chosen && !groups.includes(chosen)) groups.push(chosen);
  const group = chosen ?? groups[0] ?? null;
  const departments = [...new Set((forecastDepartments.data ?? []).map((row) => row.department))];
  const department = departments.includes(state.fd) ? state.fd : departments[0] ?? null;

  const digitsRequest = group ? {
    ...base, cut: cutString([["group_kind", group.group_kind], ["group_name", group.group_name], ["test", test]]),
    order: "digit:asc", page: 0, pagesize: 100,
  } : null;
  const seriesRequest = department ? {
    ...base, cut: cutString([["department", department]]), order: "period:asc", page: 0, pagesize: 1000,
  } : null;
  const [digits, series] = await Promise.all([
    digitsRequest ? modelRows("benford_digits", digitsRequest) : null,
    seriesRequest ? modelRows("forecast_series", seriesRequest) : null,
  ]);
  if (context.stale()) return;

  const grid = h("div", { class: "grid" });
  root.append(grid);

  // Benford.
  const benfordCard = card("Benford's law", {
    id: "benford", wide: true,
    subtitle: "Observed share of each leading digit against Benford's expectation; " +
      "MAD bands after Nigrini. Click a group in the table to chart it.",
  });
  grid.append(benfordCard);
  if (!groups.length) {
    benfordCard.append(noteOf(benford, "benford"));
  } else {
    benfordCard.append(h("div", { class: "controls" },
      h("label", {}, "Test ", select(TESTS, test, (bt) => go({ bt, bpg: "" }), { name: "benford-test" })),
      h("label", {}, "Table ", select([["tested", "groups of 1,000+ amounts"], ["all", "all groups, small samples too"]],
        benfordScope, (bs) => go({ bs, bpg: "" }), { name: "benford-scope" })),
      h("label", {}, "Group ", select(groups.map((row) => [groupKey(row), `${row.group_name} (${row.group_kind})`]),
        group ? groupKey(group) : "", (bg) => go({ bg }), { name: "benford-group" }))));
    const chartBox = h("div", { class: "chart", role: "img", "aria-label": "Benford digits" });
    const side = h("div", { class: "split" }, h("div", {},
      h("h3", {}, group ? `${group.group_name} — ${TESTS.find(([id]) => id === test)[1].toLowerCase()}` : ""),
      group ? h("p", { class: "subtitle" }, "MAD ", h("b", {}, group.mad?.toFixed(4) ?? ""), " ", badge(group.conformity),
        ` · ${group.amounts} amounts`) : null,
      chartBox),
    h("div", {}, digits && (digits.data ?? []).length
      ? dataTable({
        id: "benford-digits", rows: digits.data,
        columns: shown(digits, ["group_kind", "group_name", "test"]),
        csv: csvUrl("/api/models/benford_digits", digitsRequest),
      })
      : noteOf(digits, "benford_digits")));
    benfordCard.append(side, dataTable({
      id: "benford", columns: shown(benford, ["test"]), rows: benford.data ?? [],
      csv: csvUrl("/api/models/benford", request.benford),
      caption: benfordScope === "all" && state.bs !== "all"
        ? "No group has enough amounts to judge; all groups by MAD, least conforming first"
        : "Groups by MAD, least conforming first",
      format: { conformity: (value) => badge(value), mad: (value) => (value ?? 0).toFixed(4) },
      onRowClick: (row) => go({ bg: groupKey(row) }),
      activeRow: (row) => group && groupKey(row) === groupKey(group),
      paging: { page: page("bpg"), pageSize: PAGE_SIZE, total: benford.total ?? 0, go: (p) => go({ bpg: p }) },
    }));
    const rows = digits?.data ?? [];
    if (rows.length) {
      queueMicrotask(() => {
        if (context.stale()) return;
        makeChart(chartBox, "benford", {
          tooltip: { trigger: "axis", valueFormatter: (value) => `${(value * 100).toFixed(2)}%` },
          legend: { top: 0 },
          grid: { left: 56, right: 16, top: 32, bottom: 28 },
          xAxis: { type: "category", data: rows.map((row) => String(row.digit)) },
          yAxis: { type: "value", axisLabel: { formatter: (value) => `${Math.round(value * 1000) / 10}%` } },
          series: [
            { type: "bar", name: "Observed", data: rows.map((row) => row.observed) },
            {
              type: "line", name: "Expected (Benford)", data: rows.map((row) => row.expected),
              symbolSize: 5, lineStyle: { width: 2 }, itemStyle: { color: "#dd6b20" },
            },
          ],
        });
      });
    }
  }

  // Duplicate payment candidates.
  grid.append(card("Duplicate payment candidates", {
    id: "duplicates", wide: true,
    subtitle: "Same vendor and amount within the window, best scored first.",
  }, modelTable(duplicates, "duplicate_payments", request.duplicates, "dpg", go, {
    score: (value) => (value ?? 0).toFixed(3),
  })));

  // Outliers.
  grid.append(card("Outliers", {
    id: "outliers", wide: true,
    subtitle: "Amounts furthest from their peer group's median, by robust z-score (median / MAD).",
  }, modelTable(outliers, "outliers", request.outliers, "opg", go, {
    robust_z: (value) => (value ?? 0).toFixed(2), mad: (value) => formatMoney(value),
  })));

  // Forecast vs actual.
  const forecastCard = card("Forecast vs actual", {
    id: "forecast", wide: true,
    subtitle: "Spending per department projected to fiscal-year end, with the backtest error. " +
      "Click a department to chart it.",
  });
  grid.append(forecastCard);
  if (!departments.length) {
    forecastCard.append(noteOf(forecast, "forecast"));
  } else {
    const chartBox = h("div", { class: "chart", role: "img", "aria-label": "Forecast vs actual" });
    forecastCard.append(
      h("div", { class: "controls" }, h("label", {}, "Department ",
        select(departments, department, (fd) => go({ fd }), { name: "forecast-department" }))),
      chartBox,
      series && (series.data ?? []).length
        ? dataTable({
          id: "forecast-series", columns: shown(series, ["department"]), rows: series.data,
          csv: csvUrl("/api/models/forecast_series", seriesRequest),
          caption: `${department}: actual and forecast by period`,
        })
        : noteOf(series, "forecast_series"),
      modelTable(forecast, "forecast", request.forecast, "fpg", go, {
        backtest_error: (value) => percent(value), baseline_error: (value) => percent(value),
      }, {
        caption: "Every department's projection, largest first",
        onRowClick: (row) => go({ fd: row.department }),
        activeRow: (row) => row.department === department,
      }));
    const rows = series?.data ?? [];
    if (rows.length) {
      queueMicrotask(() => {
        if (context.stale()) return;
        makeChart(chartBox, "forecast", {
          tooltip: { trigger: "axis", valueFormatter: (value) => (value === null ? "–" : formatMoney(value)) },
          legend: { top: 0 },
          grid: { left: 76, right: 16, top: 32, bottom: 40 },
          xAxis: { type: "category", data: rows.map((row) => String(row.period)) },
          yAxis: { type: "value", axisLabel: moneyAxisLabel },
          series: [
            { type: "line", name: "Actual", data: rows.map((row) => row.actual), symbolSize: 6 },
            {
              type: "line", name: "Forecast", data: rows.map((row) => row.forecast), symbolSize: 6,
              lineStyle: { type: "dashed" }, itemStyle: { color: "#dd6b20" },
            },
          ],
        });
      });
    }
  }
}

function modelTable(answer, name, request, pageKey, go, format, extra = {}) {
  if (!(answer.data ?? []).length) return noteOf(answer, name);
  return dataTable({
    id: name, columns: shown(answer), rows: answer.data,
    csv: csvUrl(`/api/models/${name}`, request), format,
    paging: { page: request.page, pageSize: request.pagesize, total: answer.total ?? answer.data.length,
      go: (p) => go({ [pageKey]: p }) },
    ...extra,
  });
}

// The columns a table shows: not the run id, not a column every row of the
// table shares by construction (`constant`), not `x_cents` when `x` (dollars)
// is there too. The CSV download has every column.
function shown(answer, constant = []) {
  const columns = answer.columns ?? Object.keys((answer.data ?? [])[0] ?? {});
  return withoutCentsTwins(columns).filter((column) => column !== "run_id" && !constant.includes(column));
}

// The API's note for an empty model table (e.g. "run `citybooks model`").
function noteOf(answer, name) {
  if (answer && answer.note) return message("note", answer.note);
  return message("note", `No ${name.replace(/_/g, " ")} results for this dataset.`);
}

function badge(conformity) {
  const value = String(conformity ?? "");
  return h("span", { class: `badge conformity-${value.replace(/[^a-z_]/g, "")}` }, value.replace(/_/g, " "));
}

// Backtest errors are MAPE in percent already.
function percent(value) {
  if (value === null || value === undefined) return "";
  return `${Number(value).toFixed(1)}%`;
}
