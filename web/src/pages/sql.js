// Read-only SQL console: POST /api/sql {"sql"}; the result as a table, or the
// server's refusal (writes, bad SQL) as a message. The CSV download posts the
// same statement to /api/sql.csv.
//
// Page state: q = the statement (so a query can be bookmarked).
import { postForBlob, postJson } from "../api.js";
import { h, message } from "../dom.js";
import { dataTable } from "../table.js";

export async function renderSql(root, context) {
  const { dataset, params } = context;
  const example = `SELECT fiscal_year, COUNT(*) AS facts, SUM(amount) AS amount\n` +
    `FROM ${dataset.schema}.${dataset.fact_table}\nGROUP BY fiscal_year\nORDER BY fiscal_year`;
  const editor = h("textarea", {
    id: "sql", name: "sql", rows: "8", spellcheck: "false", "aria-label": "SQL statement",
  });
  editor.value = params.get("q") ?? example;
  const result = h("div", { class: "sql-result", "aria-live": "polite" });
  const run = h("button", { type: "submit", class: "primary" }, "Run");

  const execute = async () => {
    const sql = editor.value;
    run.disabled = true;
    result.replaceChildren(h("p", { class: "subtitle" }, "Running…"));
    try {
      const answer = await context.track(postJson("/api/sql", { sql }));
      if (context.stale()) return;
      const rows = answer.rows ?? [];
      result.replaceChildren(
        answer.truncated ? message("note", `Only the first ${rows.length} rows are shown (row cap).`) : "",
        dataTable({
          id: "sql", columns: answer.columns ?? [], rows,
          csv: () => postForBlob("/api/sql.csv", { sql }),
          format: Object.fromEntries((answer.columns ?? []).map((c) => [c, plain])),
        }));
    } catch (error) {
      if (context.stale()) return;
      result.replaceChildren(message("error", error.message));
    } finally {
      run.disabled = false;
    }
  };

  const form = h("form", {
    class: "sql-form",
    onsubmit: (event) => {
      event.preventDefault();
      execute();
    },
  },
  editor,
  h("div", { class: "controls" },
    run,
    h("span", { class: "subtitle" },
      "One read-only SELECT; Ctrl+Enter runs it. Tables are schema-qualified, e.g. ",
      h("code", {}, `${dataset.schema}.${dataset.fact_table}`), ".")));
  editor.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      execute();
    }
  });
  root.append(h("section", { class: "card wide", dataset: { card: "sql" } }, form, result));
}

// SQL results are shown exactly as the database returned them.
function plain(value) {
  if (value === null || value === undefined) return "NULL";
  return String(value);
}
