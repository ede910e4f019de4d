// Drill-down explorer over a cube's hierarchies (San Francisco: organization
// group → department → program, character → object → sub-object, fund type →
// fund → category) and fiscal years, from /api/cubes/{d}/aggregate.
//
// Page state (hash parameters): h = hierarchy, p = the member chosen at each
// level so far (repeated), fy = fiscal year, only = "ref:value" filter on a
// small dimension ("all" for none; default Spending where there is one),
// pg = page. Clicking a bar or a row adds a cut and drills one level down;
// below the last level the facts themselves are listed.
import { csvUrl, cubeModel, cutString, factFields, getJson } from "../api.js";
import { makeChart, moneyAxisLabel, shortLabel } from "../charts.js";
import { card, h, message, select } from "../dom.js";
import { columnLabel, escapeHtml, formatCount, formatMoney, formatValue } from "../format.js";
import { dataTable, withoutCentsTwins } from "../table.js";

const PAGE_SIZE = 25;
const FILTER_MAX_MEMBERS = 5;
const COMBINED = "combined";
// What the explorer's tables show of each cell.
const AGGREGATES = "amount.sum|_count";

// Per dataset: hierarchies, the fiscal-year ref, small-dimension filters and years.
const layouts = new Map();

function layoutOf(dataset) {
  if (!layouts.has(dataset)) {
    const promise = buildLayout(dataset);
    layouts.set(dataset, promise);
    promise.catch(() => layouts.delete(dataset));
  }
  return layouts.get(dataset);
}

async function buildLayout(dataset) {
  const cube = `/api/cubes/${encodeURIComponent(dataset)}`;
  const model = await cubeModel(dataset);
  const dimensions = model?.model?.dimensions ?? {};
  const hierarchies = [];
  const singles = [];
  let fiscalYear = null;
  for (const [name, dimension] of Object.entries(dimensions)) {
    const levels = (dimension.hierarchy ?? []).map((attribute) => ({
      ref: dimension.attributes?.[attribute]?.ref ?? `${name}.${attribute}`,
      label: dimension.attributes?.[attribute]?.label ?? columnLabel(attribute),
    }));
    if (!levels.length) continue;
    if (!levels[0].ref.includes(".")) {  // a time column
      if (levels[0].ref === "fiscal_year") fiscalYear = "fiscal_year";
      continue;
    }
    const entry = { id: name, label: dimension.label ?? columnLabel(name), levels };
    if (levels.length > 1) hierarchies.push(entry);
    else singles.push(entry);
  }
  // One-level dimensions: the tiny ones become filters, the rest are offered
  // alone and, when there are several, chained smallest first.
  const counts = await Promise.all(singles.map((entry) =>
    getJson(`${cube}/members/${encodeURIComponent(entry.id)}`, { page: 0, pagesize: FILTER_MAX_MEMBERS + 1 })
      .catch(() => ({ data: [], total_member_count: Infinity }))));
  const filters = [];
  const browsable = [];
  singles.forEach((entry, i) => {
    const answer = counts[i];
    const total = answer.total_member_count ?? Infinity;
    if (total <= FILTER_MAX_MEMBERS) {
      const ref = entry.levels[0].ref;
      const values = (answer.data ?? []).map((member) =>
        member[ref] ?? member[ref.slice(ref.indexOf(".") + 1)] ?? Object.values(member)[0]);
      filters.push({ ref, label: entry.levels[0].label, values });
    } else {
      browsable.push({ ...entry, members: total });
    }
  });
  browsable.sort((a, b) => a.members - b.members);
  if (browsable.length > 1) {
    hierarchies.push({
      id: COMBINED,
      label: browsable.map((entry) => entry.levels[0].label).join(" → "),
      levels: browsable.map((entry) => entry.levels[0]),
    });
  }
  hierarchies.push(...browsable);
  let years = [];
  if (fiscalYear) {
    const answer = await getJson(`${cube}/aggregate`, {
      drilldown: fiscalYear, aggregates: "_count", order: `${fiscalYear}:asc`, page: 0, pagesize: 500,
    });
    years = (answer.cells ?? []).map((cell) => cell[fiscalYear]).filter((y) => y !== null && y !== undefined);
  }
  return { cube, hierarchies, filters, fiscalYear, years, fields: factFields(model) };
}

function defaultFilter(filters) {
  for (const filter of filters) {
    if (filter.values.includes("Spending")) return `${filter.ref}:Spending`;
  }
  return "all";
}

export async function renderExplorer(root, context) {
  const layout = await layoutOf(context.dataset.name);
  if (context.stale()) return;
  if (!layout.hierarchies.length) {
    root.append(message("note", `${context.dataset.name} has no dimension to explore.`));
    return;
  }
  const { params } = context;
  const hierarchy = layout.hierarchies.find((x) => x.id === params.get("h")) ?? layout.hierarchies[0];
  const path = params.getAll("p").slice(0, hierarchy.levels.length);
  const fiscalYear = params.get("fy") ?? "";
  const only = params.get("only") || defaultFilter(layout.filters);
  const page = Math.max(0, Number.parseInt(params.get("pg") ?? "0", 10) || 0);
  const state = { h: hierarchy.id, p: path, fy: fiscalYear, only };
  const go = (changes) => context.go("explorer", { ...state, pg: undefined, ...changes });

  // Cuts: the chosen member at each level above, the filter, and the year.
  const pathCuts = path.map((value, i) => [hierarchy.levels[i].ref, value]);
  const filterCuts = [];
  if (only !== "all" && only.includes(":")) {
    const ref = only.slice(0, only.indexOf(":"));
    if (layout.filters.some((f) => f.ref === ref)) filterCuts.push([ref, only.slice(only.indexOf(":") + 1)]);
  }
  const yearCuts = layout.fiscalYear && fiscalYear ? [[layout.fiscalYear, Number(fiscalYear)]] : [];
  const atFacts = path.length >= hierarchy.levels.length;
  const level = atFacts ? null : hierarchy.levels[path.length];

  root.append(controls(layout, hierarchy, state, go));
  root.append(breadcrumbs(context, hierarchy, state));

  const listPath = atFacts ? `${layout.cube}/facts` : `${layout.cube}/aggregate`;
  const listParams = atFacts
    ? {
      // Columns every listed fact shares (the cuts) are left out.
      fields: layout.fields.split("|").filter((ref) => ![...pathCuts, ...filterCuts].some(([cut]) => cut === ref)).join("|"),
      cut: cutString([...pathCuts, ...filterCuts, ...yearCuts]),
      order: "amount:desc", page, pagesize: PAGE_SIZE,
    }
    : {
      drilldown: level.ref, cut: cutString([...pathCuts, ...filterCuts, ...yearCuts]),
      aggregates: AGGREGATES, order: "amount.sum:desc", page, pagesize: PAGE_SIZE,
    };
  const trendParams = layout.fiscalYear ? {
    drilldown: layout.fiscalYear, cut: cutString([...pathCuts, ...filterCuts]),
    aggregates: AGGREGATES, order: `${layout.fiscalYear}:asc`, page: 0, pagesize: 500,
  } : null;
  const [list, trend] = await Promise.all([
    getJson(listPath, listParams),
    trendParams ? getJson(`${layout.cube}/aggregate`, trendParams) : null,
  ]);
  if (context.stale()) return;

  const scope = [
    ...path.map(String),
    fiscalYear ? `FY${fiscalYear}` : "all years",
    ...filterCuts.map(([, value]) => value),
  ].join(" · ");
  const grid = h("div", { class: "grid" });
  root.append(grid);

  if (atFacts) {
    const data = list.data ?? [];
    const columns = withoutCentsTwins(list.fields ?? (data.length ? Object.keys(data[0]) : []));
    grid.append(card(`Transactions in ${scope}`, { id: "explore-facts", wide: true },
      dataTable({
        id: "explore-facts", columns, rows: data, csv: csvUrl(listPath, listParams),
        caption: `${formatCount(list.total_fact_count ?? data.length)} transactions, largest first`,
        paging: { page, pageSize: PAGE_SIZE, total: list.total_fact_count ?? data.length, go: (pg) => go({ pg }) },
      })));
  } else {
    const cells = list.cells ?? [];
    const summary = list.summary ?? {};
    const total = list.total_cell_count ?? cells.length;
    const columns = cells.length
      ? [level.ref, ...Object.keys(cells[0]).filter((c) => c !== level.ref)]
      : [level.ref, "amount.sum", "_count"];
    const drill = (value) => {
      if (value === null || value === undefined) return;
      go({ p: [...path, value] });
    };
    const chartBox = h("div", {
      class: "chart", role: "img", "aria-label": `${level.label} by amount`,
      style: `height:${Math.max(260, cells.length * 24 + 60)}px`,
    });
    grid.append(card(`${level.label} — ${scope}`, {
      id: "explore-members",
      subtitle: `${formatMoney(summary["amount.sum"] ?? 0)} in ${formatCount(summary._count ?? 0)} transactions. ` +
        "Click a bar or a row to drill down.",
    }, chartBox));
    grid.append(card(`${level.label} table`, { id: "explore-table" },
      dataTable({
        id: "explore-cells", columns, rows: cells, csv: csvUrl(listPath, listParams),
        onRowClick: (row) => drill(row[level.ref]),
        paging: { page, pageSize: PAGE_SIZE, total, go: (pg) => go({ pg }) },
      })));
    queueMicrotask(() => {
      if (context.stale() || !cells.length) return;
      const narrow = chartBox.clientWidth < 520;
      makeChart(chartBox, "explore-members", {
        tooltip: {
          trigger: "item", confine: true,
          formatter: (p) => {
            const cell = cells[p.dataIndex];
            return `${escapeHtml(cell[level.ref])}<br>Amount: <b>${formatMoney(cell["amount.sum"])}</b>` +
              `<br>Transactions: <b>${formatCount(cell._count)}</b>`;
          },
        },
        grid: { left: narrow ? 110 : 190, right: 24, top: 8, bottom: 28 },
        xAxis: { type: "value", axisLabel: moneyAxisLabel },
        yAxis: {
          type: "category", inverse: true, data: cells.map((cell) => cell[level.ref] ?? "(none)"),
          axisLabel: { formatter: (value) => shortLabel(value, narrow ? 15 : 28), interval: 0 },
        },
        series: [{
          type: "bar", name: "Amount", data: cells.map((cell) => cell["amount.sum"]), cursor: "pointer",
        }],
      }, (p) => drill(cells[p.dataIndex][level.ref]));
    });
  }

  if (trend) {
    const cells = (trend.cells ?? []).filter((cell) => cell[layout.fiscalYear] !== null);
    const yearBox = h("div", { class: "chart", role: "img", "aria-label": "Amount by fiscal year" });
    grid.append(card(`By fiscal year — ${path.length ? path.join(" · ") : "all"}`, {
      id: "explore-years", wide: true, subtitle: "Click a year to select it; click it again for all years.",
    }, h("div", { class: "split" }, yearBox, dataTable({
      id: "explore-years", columns: [layout.fiscalYear, "amount.sum", "_count"],
      rows: cells, csv: csvUrl(`${layout.cube}/aggregate`, trendParams),
      onRowClick: (row) => go({ fy: String(row[layout.fiscalYear]) === fiscalYear ? "" : row[layout.fiscalYear], p: path }),
      activeRow: (row) => String(row[layout.fiscalYear]) === fiscalYear,
    }))));
    queueMicrotask(() => {
      if (context.stale() || !cells.length) return;
      makeChart(yearBox, "explore-years", {
        tooltip: {
          trigger: "item", confine: true,
          formatter: (p) => `FY${cells[p.dataIndex][layout.fiscalYear]}<br>Amount: <b>${formatMoney(p.value)}</b>` +
            `<br>Transactions: <b>${formatCount(cells[p.dataIndex]._count)}</b>`,
        },
        grid: { left: 70, right: 16, top: 12, bottom: 30 },
        xAxis: { type: "category", data: cells.map((cell) => String(cell[layout.fiscalYear])) },
        yAxis: { type: "value", axisLabel: moneyAxisLabel },
        series: [{
          type: "bar", name: "Amount", cursor: "pointer",
          data: cells.map((cell) => ({
            value: cell["amount.sum"],
            itemStyle: String(cell[layout.fiscalYear]) === fiscalYear ? { color: "#dd6b20" } : undefined,
          })),
        }],
      }, (p) => {
        const year = cells[p.dataIndex][layout.fiscalYear];
        go({ fy: String(year) === fiscalYear ? "" : year });
      });
    });
  }
}

function controls(layout, hierarchy, state, go) {
  const bar = h("div", { class: "controls" });
  bar.append(h("label", {}, "Hierarchy ",
    select(layout.hierarchies.map((x) => [x.id, hierarchyText(x)]),
      hierarchy.id, (id) => go({ h: id, p: [] }), { name: "hierarchy" })));
  if (layout.fiscalYear) {
    bar.append(h("label", {}, "Fiscal year ",
      select([["", "All years"], ...layout.years.map((y) => [String(y), `FY${y}`])], state.fy,
        (fy) => go({ fy }), { name: "fiscal-year" })));
  }
  for (const filter of layout.filters) {
    const current = state.only.startsWith(`${filter.ref}:`) ? state.only : "all";
    bar.append(h("label", {}, `${filter.label} `,
      select([["all", "All"], ...filter.values.map((v) => [`${filter.ref}:${v}`, formatValue(filter.ref, v)])],
        current, (only) => go({ only }), { name: "filter" })));
  }
  return bar;
}

function hierarchyText(hierarchy) {
  const levels = hierarchy.levels.map((level) => level.label).join(" → ");
  if (hierarchy.id === COMBINED || levels === hierarchy.label) return levels;
  return `${hierarchy.label}: ${levels}`;
}

function breadcrumbs(context, hierarchy, state) {
  const top = plural(hierarchy.levels[0].label.toLowerCase());
  const crumbs = [state.p.length
    ? h("a", { href: context.href("explorer", { ...state, p: [] }) }, `All ${top}`)
    : h("span", { class: "current", "aria-current": "location" }, `All ${top}`)];
  state.p.forEach((value, i) => {
    const last = i === state.p.length - 1;
    crumbs.push(h("span", { class: "sep", "aria-hidden": "true" }, "›"));
    crumbs.push(last
      ? h("span", { class: "current", "aria-current": "location" }, `${hierarchy.levels[i].label}: ${value}`)
      : h("a", { href: context.href("explorer", { ...state, p: state.p.slice(0, i + 1) }) },
        `${hierarchy.levels[i].label}: ${value}`));
  });
  return h("nav", { class: "breadcrumbs", "aria-label": "Drill-down path" }, crumbs);
}

function plural(noun) {
  if (/(s|x|ch|sh)$/.test(noun)) return `${noun}es`;
  if (/[^aeiou]y$/.test(noun)) return `${noun.slice(0, -1)}ies`;
  return `${noun}s`;
}
