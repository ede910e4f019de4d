// How values are shown: money, counts, ratios, and column names as labels.
//
//   formatValue("amount.sum", 1234.5)   // "$1,234.50"
//   columnLabel("_count")               // "Transactions"

const moneyFormat = new Intl.NumberFormat("en-US", {
  style: "currency", currency: "USD", minimumFractionDigits: 2, maximumFractionDigits: 2,
});
const compactMoneyFormat = new Intl.NumberFormat("en-US", {
  style: "currency", currency: "USD", notation: "compact", maximumFractionDigits: 1,
});
const integerFormat = new Intl.NumberFormat("en-US", { maximumFractionDigits: 0 });
const decimalFormat = new Intl.NumberFormat("en-US", { maximumFractionDigits: 4 });

// Columns that hold dollars (as returned by the API, not cents).
const MONEY_COLUMNS = new Set([
  "amount", "amount.sum", "amount.max", "amount.min", "amount.avg", "revenue", "spending", "net",
  "max_spending", "actual", "forecast", "actual_to_date", "median",
]);
// Columns that hold whole cents; shown as dollars.
const CENTS_COLUMN = /(^|_)cents$/;
// Columns that are counts.
const COUNT_COLUMNS = new Set([
  "_count", "transactions", "payments", "facts", "count", "amounts", "rows", "rows_read",
  "rows_loaded", "rows_quarantined", "failing", "files", "bytes", "periods_observed", "days_apart",
]);
// Columns that are identifiers or years: shown as is, never grouped.
const PLAIN_COLUMNS = new Set([
  "fiscal_year", "fiscal_month", "run_id", "digit", "bucket", "rank", "fact_id", "pair", "period",
  "payment_id_a", "payment_id_b", "line",
]);
const PERCENT_COLUMNS = new Set(["share_pct"]);
const RATIO_COLUMNS = new Set(["observed", "expected"]);

export function isMoneyColumn(column) {
  return MONEY_COLUMNS.has(column) || CENTS_COLUMN.test(column);
}

export function formatMoney(value) {
  if (value === null || value === undefined || value === "") return "";
  return moneyFormat.format(Number(value));
}

export function formatCompactMoney(value) {
  return compactMoneyFormat.format(Number(value));
}

export function formatCount(value) {
  if (value === null || value === undefined || value === "") return "";
  return integerFormat.format(Number(value));
}

// Formats one cell for display by what its column holds.
export function formatValue(column, value) {
  if (value === null || value === undefined) return "";
  if (typeof value !== "number") {
    if (typeof value === "boolean") return value ? "yes" : "no";
    return String(value);
  }
  if (PLAIN_COLUMNS.has(column)) return String(value);
  if (CENTS_COLUMN.test(column)) return formatMoney(value / 100);
  if (MONEY_COLUMNS.has(column)) return formatMoney(value);
  if (PERCENT_COLUMNS.has(column)) return `${value.toFixed(2)}%`;
  if (RATIO_COLUMNS.has(column)) return `${(value * 100).toFixed(2)}%`;
  if (COUNT_COLUMNS.has(column)) return formatCount(value);
  if (Number.isInteger(value)) return String(value);
  return decimalFormat.format(value);
}

export function isNumericColumn(column, sample) {
  return typeof sample === "number" || isMoneyColumn(column) || COUNT_COLUMNS.has(column);
}

const LABELS = {
  "_count": "Transactions",
  "amount.sum": "Amount",
  "amount.max": "Largest amount",
  "amount.min": "Smallest amount",
  "share_pct": "Share",
  "max_spending": "Largest spending",
  "mad": "MAD",
  "robust_z": "Robust z",
  "amounts": "Amounts tested",
  "observed": "Observed",
  "expected": "Expected (Benford)",
};

// "program.organization_group" -> "Organization group".
export function columnLabel(column) {
  if (LABELS[column]) return LABELS[column];
  const attribute = column.includes(".") ? column.slice(column.lastIndexOf(".") + 1) : column;
  const words = attribute.replace(/_cents$/, "").replace(/_/g, " ").trim();
  return words.charAt(0).toUpperCase() + words.slice(1);
}

// Text for ECharts tooltips, which are HTML.
export function escapeHtml(text) {
  return String(text ?? "").replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
