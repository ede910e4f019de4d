// ECharts, with only the charts and components the dashboard uses, and the
// live chart instances of the current page.
//
//   const chart = makeChart(element, "net-by-group", option, (params) => drill(params.name));
//   disposeCharts();   // before a page is redrawn
//
// `window.citybooks.charts()` lists the live charts with their series sizes
// and `window.citybooks.itemPoint(id, series, index)` says where an item is
// drawn, so browser tests can check charts drew and click a bar like a user.
import { use, init } from "echarts/core";
import { BarChart, LineChart, PieChart } from "echarts/charts";
import {
  AriaComponent, GridComponent, LegendComponent, TooltipComponent,
} from "echarts/components";
import { CanvasRenderer } from "echarts/renderers";
import { formatCompactMoney } from "./format.js";

use([BarChart, LineChart, PieChart, AriaComponent, GridComponent, LegendComponent,
  TooltipComponent, CanvasRenderer]);

export const PALETTE = ["#2b6cb0", "#dd6b20", "#38a169", "#805ad5", "#d53f8c", "#319795", "#d69e2e",
  "#718096", "#e53e3e", "#3182ce", "#9f7aea", "#48bb78"];

const live = new Map();  // id -> ECharts instance
const observer = typeof ResizeObserver === "function"
  ? new ResizeObserver((entries) => {
    for (const entry of entries) {
      const chart = live.get(entry.target.dataset.chart);
      if (chart && !chart.isDisposed()) chart.resize();
    }
  })
  : null;

// Draws `option` into `element` (which gets data-chart=id). `onClick(params)`
// runs when a data item is clicked; the cursor shows it is clickable.
export function makeChart(element, id, option, onClick) {
  const previous = live.get(id);
  if (previous) disposeChart(id, previous);
  element.dataset.chart = id;
  const chart = init(element, null, { renderer: "canvas" });
  chart.setOption({
    color: PALETTE,
    animation: false,
    aria: { enabled: true },
    textStyle: { fontFamily: "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif" },
    ...option,
  });
  if (onClick) {
    chart.on("click", (params) => {
      if (params.componentType === "series") onClick(params);
    });
  }
  live.set(id, chart);
  if (observer) observer.observe(element);
  return chart;
}

function disposeChart(id, chart) {
  const element = chart.getDom();
  if (observer && element) observer.unobserve(element);
  if (!chart.isDisposed()) chart.dispose();
  live.delete(id);
}

export function disposeCharts() {
  for (const [id, chart] of [...live]) disposeChart(id, chart);
}

// Axis labels in compact dollars ($1.2M).
export const moneyAxisLabel = { formatter: (value) => formatCompactMoney(value) };

// Shortens long category names on axes; the tooltip shows them whole.
export function shortLabel(text, length = 22) {
  const value = String(text ?? "");
  return value.length > length ? `${value.slice(0, length - 1)}…` : value;
}

function describeCharts() {
  const answer = [];
  for (const [id, chart] of live) {
    if (chart.isDisposed()) continue;
    const option = chart.getOption();
    const series = (option.series ?? []).map((s) => ({
      type: s.type, name: s.name ?? "", points: Array.isArray(s.data) ? s.data.length : 0,
    }));
    answer.push({ id, series });
  }
  return answer;
}

// Where item `dataIndex` of series `seriesIndex` is drawn, in page
// coordinates (the middle of a bar, a slice or a point), or null.
function itemPoint(id, seriesIndex, dataIndex) {
  const chart = live.get(id);
  if (!chart || chart.isDisposed()) return null;
  const series = chart.getModel().getSeriesByIndex(seriesIndex);
  if (!series) return null;
  const layout = series.getData().getItemLayout(dataIndex);
  if (!layout) return null;
  let x;
  let y;
  if (Array.isArray(layout)) {
    [x, y] = layout;
  } else if ("cx" in layout) {
    const angle = (layout.startAngle + layout.endAngle) / 2;
    const radius = ((layout.r0 ?? 0) + layout.r) / 2;
    x = layout.cx + radius * Math.cos(angle);
    y = layout.cy + radius * Math.sin(angle);
  } else {
    x = layout.x + layout.width / 2;
    y = layout.y + layout.height / 2;
  }
  const box = chart.getDom().getBoundingClientRect();
  return { x: box.left + x, y: box.top + y };
}

if (typeof window !== "undefined") {
  window.citybooks = Object.assign(window.citybooks ?? {}, { charts: describeCharts, itemPoint });
}
