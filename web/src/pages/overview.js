// Overview of one dataset: every view its mapping declares (for San Francisco
// the four views of the city's own dashboard), each a chart with its numbers
// in a table, plus a member search (Phoenix vendors) when the cube has one.
import { csvUrl, cubeModel, cutString, factFields, getJson } from "../api.js";
import { makeChart, moneyAxisLabel, PALETTE, shortLabel } from "../charts.js";
import { card, clear, h, message } from "../dom.js";
import {
  columnLabel, escapeHtml, formatCount, formatMoney, formatValue, isMoneyColumn,
} from "../format.js";
import { dataTable, withoutCentsTwins } from "../table.js";

// Which measure a view's chart draws, by preference.
const PREFERRED_MEASURES = ["net", "max_spending", "transactions", "amount", "payments"];
// Dimensions that get a search box on the overview.
const SEARCHABLE_DIMENSIONS = ["vendor"];
// Horizontal bar charts show at most this many bars.
const CHART_MAX_BARS = 20;

export async function renderOverview(root, context) {
  const { dataset } = context;
  const cube = `/api/cubes/${encodeURIComponent(dataset.name)}`;
  let views = dataset.views;
  if (!Array.isArray(views) || !views.length) views = (await getJson(`${cube}/views`)).views ?? [];
  const names = views.map((view) => (typeof view === "string" ? view : view.name));
  const [model, ...answers] = await Promise.all([
    cubeModel(dataset.name).catch(() => null),
    ...names.map((name) => getJson(`${cube}/views/${encodeURIComponent(name)}`).catch((error) => error)),
  ]);
  if (context.stale()) return;

  const grid = h("div", { class: "grid" });
  root.append(grid);
  if (!names.length) grid.append(message("note", `${dataset.name} declares no views.`));
  names.forEach((name, index) => {
    const answer = answers[index];
    if (answer instanceof Error) {
      grid.append(card(name, { id: `view-${name}` }, message("error", answer.message)));
      return;
    }
    grid.append(viewCard(context, model, cube, answer));
  });
  const dimensions = model?.model?.dimensions ?? {};
  for (const dimension of SEARCHABLE_DIMENSIONS) {
    if (dimensions[dimension]) {
      grid.append(searchCard(context, cube, dimension, dimensions[dimension], factFields(model)));
    }
  }
}

// The explorer route that drills into `value` of column `column`, when the
// column is the top level of one of the cube's hierarchies.
function drillTarget(model, column) {
  const dimensions = model?.model?.dimensions ?? {};
  for (const [name, dimension] of Object.entries(dimensions)) {
    if ((dimension.hierarchy ?? [])[0] === column) return name;
  }
  return null;
}

function viewCard(context, model, cube, view) {
  const columns = view.columns ?? [];
  const rows = (view.rows ?? []).map((row) => Object.fromEntries(columns.map((c, i) => [c, row[i]])));
  const chartBox = h("div", { class: "chart", role: "img", "aria-label": view.title });
  const body = card(view.title ?? view.name, { id: `view-${view.name}`, wide: isMonthly(columns) },
    chartBox,
    dataTable({
      id: `view-${view.name}`,
      columns,
      rows,
      csv: csvUrl(`${cube}/views/${encodeURIComponent(view.name)}`),
    }));
  // Charts are drawn once the card is in the page (ECharts needs its size).
  queueMicrotask(() => {
    if (context.stale() || !rows.length) return;
    drawView(context, model, chartBox, view, columns, rows);
  });
  return body;
}

function isMonthly(columns) {
  return columns.includes("fiscal_month") && columns.includes("fiscal_year");
}

function labelColumn(columns, rows) {
  return columns.find((c) => c !== "fiscal_year" && rows.some((r) => typeof r[c] === "string")) ?? columns[0];
}

function measureColumn(columns, rows) {
  for (const name of PREFERRED_MEASURES) if (columns.includes(name)) return name;
  const numeric = columns.filter((c) => rows.some((r) => typeof r[c] === "number"));
  return numeric[numeric.length - 1];
}

function drawView(context, model, element, view, columns, rows) {
  if (isMonthly(columns)) return drawMonthly(context, model, element, view, columns, rows);
  const label = labelColumn(columns, rows);
  const measure = measureColumn(columns, rows);
  const money = isMoneyColumn(measure);
  const target = drillTarget(model, label);
  const onClick = target
    ? (params) => context.go("explorer", {
      h: target, p: rows[params.dataIndex][label],
      // Views over spending only keep the explorer's Spending filter.
      only: measure === "max_spending" ? undefined : "all",
    })
    : null;
  const tooltipLines = (row) => columns
    .filter((c) => c !== label && c !== "bucket")
    .map((c) => `${columnLabel(c)}: <b>${formatValue(c, row[c])}</b>`).join("<br>");
  const tooltip = {
    trigger: "item", confine: true,
    formatter: (params) => `${escapeHtml(rows[params.dataIndex][label])}<br>${tooltipLines(rows[params.dataIndex])}`,
  };

  const narrow = element.clientWidth < 520;
  if (view.chart === "pie") {
    makeChart(element, view.name, {
      tooltip,
      legend: narrow
        ? { type: "scroll", bottom: 0, formatter: (name) => shortLabel(name, 24) }
        : {
          type: "scroll", orient: "vertical", right: 0, top: "middle", width: "38%",
          formatter: (name) => shortLabel(name, 30),
        },
      series: [{
        type: "pie", name: columnLabel(measure), radius: ["38%", "72%"], center: narrow ? ["50%", "45%"] : ["32%", "50%"],
        // The view's own share when it has one, so the slices and the table agree.
        label: {
          position: "inside", color: "#fff", fontSize: 11,
          formatter: columns.includes("share_pct")
            ? (p) => formatValue("share_pct", rows[p.dataIndex].share_pct) : "{d}%",
        },
        labelLine: { show: false },
        minShowLabelAngle: 14, cursor: onClick ? "pointer" : "default",
        data: rows.map((r) => ({ name: r[label], value: r[measure] })),
      }],
    }, onClick);
    return;
  }
  const horizontal = view.chart !== "histogram" && rows.length > 5;
  // Long views chart their first rows (largest first); the table has them all.
  const charted = horizontal ? rows.slice(0, CHART_MAX_BARS) : rows;
  const categories = charted.map((r) => r[label]);
  if (horizontal) element.style.height = `${Math.max(300, charted.length * 26 + 56)}px`;
  const valueAxis = { type: "value", axisLabel: money ? moneyAxisLabel : {} };
  const categoryAxis = {
    type: "category", data: categories,
    axisLabel: { formatter: (value) => shortLabel(value, horizontal ? (narrow ? 14 : 26) : 14), interval: 0,
      rotate: horizontal ? 0 : (categories.length > 6 ? 30 : 0) },
    inverse: horizontal,
  };
  makeChart(element, view.name, {
    tooltip,
    grid: { left: horizontal ? (narrow ? 100 : 180) : 70, right: 24, top: 16, bottom: horizontal ? 32 : 64 },
    xAxis: horizontal ? valueAxis : categoryAxis,
    yAxis: horizontal ? categoryAxis : valueAxis,
    series: [{
      type: "bar", name: columnLabel(measure),
      barCategoryGap: view.chart === "histogram" ? "4%" : "25%",
      cursor: onClick ? "pointer" : "default",
      data: charted.map((r) => ({
        value: r[measure],
        itemStyle: measure === "net" && r[measure] < 0 ? { color: "#c53030" } : undefined,
      })),
    }],
  }, onClick);
}

// Monthly views (Phoenix spending by department and month): stacked bars per
// fiscal month, the largest departments each a series, the rest summed.
function drawMonthly(context, model, element, view, columns, rows) {
  const label = labelColumn(columns, rows);
  const measure = columns.includes("amount") ? "amount" : measureColumn(columns, rows);
  const period = (r) => `${r.fiscal_year}-${String(r.fiscal_month).padStart(2, "0")}`;
  const periods = [...new Set(rows.map(period))].sort();
  const totals = new Map();
  for (const r of rows) totals.set(r[label], (totals.get(r[label]) ?? 0) + (r[measure] ?? 0));
  const top = [...totals.entries()].sort((a, b) => b[1] - a[1] || String(a[0]).localeCompare(String(b[0])))
    .slice(0, 8).map(([name]) => name);
  const other = `Other ${columnLabel(label).toLowerCase()}s`;
  const seriesNames = totals.size > top.length ? [...top, other] : top;
  const values = new Map(seriesNames.map((name) => [name, new Array(periods.length).fill(0)]));
  const periodIndex = new Map(periods.map((p, i) => [p, i]));
  for (const r of rows) {
    const name = top.includes(r[label]) ? r[label] : other;
    values.get(name)[periodIndex.get(period(r))] += r[measure] ?? 0;
  }
  const target = drillTarget(model, label);
  makeChart(element, view.name, {
    tooltip: {
      trigger: "item", confine: true,
      formatter: (p) => `${escapeHtml(p.seriesName)}<br>FY${p.name}: <b>${formatMoney(p.value)}</b>`,
    },
    legend: { type: "scroll", top: 0 },
    grid: { left: 70, right: 24, top: 36, bottom: 56 },
    xAxis: { type: "category", data: periods, axisLabel: { rotate: 45, hideOverlap: true } },
    yAxis: { type: "value", axisLabel: moneyAxisLabel },
    series: seriesNames.map((name, i) => ({
      type: "bar", name, stack: "total", cursor: target && name !== other ? "pointer" : "default", data: values.get(name).map((v) => Math.round(v * 100) / 100),
      itemStyle: { color: name === other ? "#a0aec0" : PALETTE[i % PALETTE.length] },
    })),
  }, target ? (p) => {
    if (p.seriesName !== other) context.go("explorer", { h: target, p: p.seriesName });
  } : null);
}

// A search box over one dimension's members; choosing a member lists its
// largest payments.
function searchCard(context, cube, dimension, definition, fields) {
  const attribute = (definition.hierarchy ?? [])[0] ?? dimension;
  const ref = definition.attributes?.[attribute]?.ref ?? `${dimension}.${attribute}`;
  const results = h("div", { class: "search-results" });
  const detail = h("div", { class: "search-detail" });
  const input = h("input", {
    type: "search", placeholder: `Search ${definition.label ?? dimension} names…`,
    "aria-label": `Search ${dimension}`, name: `${dimension}-search`, autocomplete: "off",
  });
  let timer = null;
  let sequence = 0;
  const search = async () => {
    const mine = ++sequence;
    const params = { q: input.value.trim(), page: 0, pagesize: 20 };
    const path = `${cube}/members/${encodeURIComponent(dimension)}`;
    try {
      const answer = await context.track(getJson(path, params));
      if (mine !== sequence || context.stale()) return;
      const data = answer.data ?? [];
      const columns = data.length ? Object.keys(data[0]) : [ref];
      clear(results);
      results.append(dataTable({
        id: `members-${dimension}`, columns, rows: data, csv: csvUrl(path, params),
        caption: `${formatCount(answer.total_member_count ?? data.length)} matching`,
        empty: "No match.",
        onRowClick: (row) => showMember(row[ref] ?? row[attribute] ?? Object.values(row)[0]),
      }));
    } catch (error) {
      if (mine !== sequence || context.stale()) return;
      clear(results);
      results.append(message("error", error.message));
    }
  };
  const showMember = async (value) => {
    const params = { fields, cut: cutString([[ref, value]]), order: "amount:desc", page: 0, pagesize: 50 };
    const path = `${cube}/facts`;
    try {
      const answer = await context.track(getJson(path, params));
      if (context.stale()) return;
      const data = answer.data ?? [];
      clear(detail);
      detail.append(h("h3", {}, `Largest payments to ${value}`), dataTable({
        id: `facts-${dimension}`,
        columns: withoutCentsTwins(answer.fields ?? (data.length ? Object.keys(data[0]) : [])),
        rows: data, csv: csvUrl(path, params),
        caption: `${formatCount(answer.total_fact_count ?? data.length)} payments in all`,
      }));
    } catch (error) {
      clear(detail);
      detail.append(message("error", error.message));
    }
  };
  input.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(search, 250);
  });
  queueMicrotask(search);
  return card(`${definition.label ?? columnLabel(dimension)} search`, { id: `search-${dimension}`, wide: true },
    input, results, detail);
}
