// The citybooks dashboard: a dataset picker, a nav bar and hash routes
// `#/{dataset}/{page}?{page state}`, one module per page.
//
// Every page state lives in the hash, so a view can be bookmarked, the Back
// button undoes a drill-down, and a page is redrawn whole on each change.
// <html data-state> is "loading" while a page fetches and "ready" (or "error")
// when it is drawn; browser tests wait on it.
import "./app.css";
import { datasets } from "./api.js";
import { disposeCharts } from "./charts.js";
import { clear, h, message } from "./dom.js";
import { formatCount } from "./format.js";
import { renderExplorer } from "./pages/explorer.js";
import { renderModels } from "./pages/models.js";
import { renderOverview } from "./pages/overview.js";
import { renderQuality } from "./pages/quality.js";
import { renderSql } from "./pages/sql.js";

// `serves` lists the names in a dataset's "pages" (from /api/datasets) that
// each page answers for.
const PAGES = [
  { id: "overview", label: "Overview", render: renderOverview, serves: ["overview", "vendors"] },
  { id: "explorer", label: "Explorer", render: renderExplorer, serves: ["explorer"] },
  { id: "models", label: "Models", render: renderModels, serves: ["models"] },
  { id: "quality", label: "Quality & runs", render: renderQuality, serves: ["quality", "runs"] },
  { id: "sql", label: "SQL console", render: renderSql, serves: ["sql"] },
];

// The pages a dataset offers (all of them when it does not say).
function pagesOf(dataset) {
  if (!Array.isArray(dataset.pages)) return PAGES;
  const offered = PAGES.filter((page) => page.serves.some((name) => dataset.pages.includes(name)));
  return offered.length ? offered : PAGES;
}

const root = document.getElementById("app");
const nav = document.getElementById("nav");
const picker = document.getElementById("dataset");

let generation = 0;
let knownDatasets = [];
let pending = 0;

function setState(state) {
  document.documentElement.dataset.state = state;
}

// #/{dataset}/{page}?{query} -> {dataset, page, params}
function parseHash() {
  const hash = decodeURIComponent(location.hash.replace(/^#\/?/, "").split("?")[0]);
  const query = location.hash.includes("?") ? location.hash.slice(location.hash.indexOf("?") + 1) : "";
  const [dataset = "", page = ""] = hash.split("/");
  return { dataset, page, params: new URLSearchParams(query) };
}

export function routeHref(dataset, page, params = {}) {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value === undefined || value === null || value === "") continue;
    if (Array.isArray(value)) value.forEach((item) => search.append(key, String(item)));
    else search.set(key, String(value));
  }
  const query = search.toString();
  return `#/${encodeURIComponent(dataset)}/${page}${query ? `?${query}` : ""}`;
}

function drawNav(current, pageId) {
  clear(picker);
  for (const dataset of knownDatasets) {
    picker.append(h("option", { value: dataset.name, selected: dataset.name === current.name }, dataset.name));
  }
  clear(nav);
  for (const page of pagesOf(current)) {
    nav.append(h("a", {
      href: routeHref(current.name, page.id),
      class: page.id === pageId ? "active" : "",
      "aria-current": page.id === pageId ? "page" : null,
      dataset: { page: page.id },
    }, page.label));
  }
}

picker.addEventListener("change", () => {
  const { page } = parseHash();
  const all = knownDatasets;
  const next = all.find((d) => d.name === picker.value);
  const pages = next ? pagesOf(next) : PAGES;
  location.hash = routeHref(picker.value, (pages.find((p) => p.id === page) ?? pages[0]).id);
});

async function render() {
  const current = ++generation;
  pending = 0;
  setState("loading");
  disposeCharts();
  let all;
  try {
    all = await datasets();
  } catch (error) {
    if (current !== generation) return;
    clear(root);
    root.append(message("error", error.message));
    setState("error");
    return;
  }
  if (current !== generation) return;
  knownDatasets = all;
  if (!all.length) {
    clear(root);
    root.append(message("note", "No datasets are configured. Run `citybooks load` first."));
    setState("ready");
    return;
  }
  const { dataset: name, page: pageId, params } = parseHash();
  const dataset = all.find((d) => d.name === name) ?? null;
  const pages = pagesOf(dataset ?? all[0]);
  const page = pages.find((p) => p.id === pageId) ?? null;
  if (!dataset || !page) {
    location.replace(routeHref((dataset ?? all[0]).name, (page ?? pages[0]).id));
    return;
  }
  drawNav(dataset, page.id);
  document.title = `${page.label} · ${dataset.name} · citybooks`;
  document.documentElement.dataset.page = page.id;

  const content = h("div", { class: "page", dataset: { page: page.id } });
  const context = {
    dataset,
    datasets: all,
    params,
    stale: () => current !== generation,
    href: (pageName, values) => routeHref(dataset.name, pageName, values),
    go: (pageName, values) => { location.hash = routeHref(dataset.name, pageName, values); },
    // Marks work done after the first draw (e.g. a search) so tests can wait.
    track: async (promise) => {
      if (current !== generation) return promise;
      pending += 1;
      setState("loading");
      try {
        return await promise;
      } finally {
        if (current === generation) {
          pending -= 1;
          if (pending === 0) setState("ready");
        }
      }
    },
  };
  clear(root);
  root.append(
    h("div", { class: "page-head" },
      h("h1", {}, page.label),
      h("span", { class: "dataset-facts" },
        `${dataset.name} · ${formatCount(dataset.facts ?? 0)} facts`,
        dataset.last_run ? ` · last run ${lastRunText(dataset.last_run)}` : "")),
    content);
  try {
    await page.render(content, context);
    if (current !== generation) return;
    if (pending === 0) setState("ready");
  } catch (error) {
    if (current !== generation) return;
    content.append(message("error", error.message));
    setState("error");
  }
}

function lastRunText(run) {
  if (typeof run !== "object") return String(run);
  return [run.finished_at ?? run.started_at, run.status].filter(Boolean).join(", ");
}

window.addEventListener("hashchange", render);
render();
