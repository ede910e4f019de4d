// Browser tests of the citybooks dashboard: one page per run, in Debian's
// Chromium (headless, via playwright-core) against the real `citybooks serve`
// over a workspace of generated San Francisco and Phoenix data.
//
//   node dashboard_test.mjs --page overview --citybooks build/citybooks \
//        --node-modules node_modules --mappings src/conform/mappings --screenshots build/screenshots
//
// Pages: overview, explorer, models, quality, sql. Each loads with no console
// error or warning, no failed request and no HTTP error; its charts draw; a
// click drills down; its CSV downloads hold exactly the rows shown. A failure
// prints "Browser.<Page>: FAILED: <what>" and exits 1. Debugging aids:
// --workspace DIR reuses a workspace already set up, --base-url URL checks a
// dashboard already being served from it.
import { mkdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import {
  BrowserSession, check, CheckFailure, mappingViews, PHOENIX, SF, sameValue, shownNumber, Workspace,
} from "./support.mjs";

const PAGES = {
  overview: { name: "Overview", run: checkOverview },
  explorer: { name: "Explorer", run: checkExplorer },
  models: { name: "Models", run: checkModels },
  quality: { name: "Quality", run: checkQuality },
  sql: { name: "Sql", run: checkSql },
};

// ---------------------------------------------------------------------------
// Overview: San Francisco's four views against the views' fact-table SQL;
// Phoenix's views and vendor search.

async function checkOverview({ session, workspace, mappings }) {
  await session.goto(`/${SF}/overview`);
  const views = mappingViews(join(mappings, `${SF}.toml`));
  check(views.length === 4, `the San Francisco mapping should declare 4 views, found ${views.length}`);
  const charts = await session.expectChartsDrawn(4, "San Francisco overview");
  for (const view of views) {
    check(charts.some((chart) => chart.id === view.name), `view ${view.name} has no chart`);
    await expectViewMatchesFacts(session, workspace, view);
    await session.expectCsvMatchesTable(`view-${view.name}`, `view ${view.name}`);
  }
  const pie = charts.find((chart) => chart.id === "transactions_by_organization_group");
  check(pie.series[0].type === "pie", "share of transactions should be a pie chart");
  session.expectNoProblems("San Francisco overview");
  await session.screenshot("overview");

  // A click on a bar of "net by organization group" drills into that group.
  const net = await session.table("view-net_by_organization_group");
  const group = net.raw[0][net.columns.indexOf("organization_group")];
  await session.navigating(() => session.clickChartItem("net_by_organization_group", 0, 0, "net chart"),
    "click on the net-by-group chart");
  const route = await session.page.evaluate(() => ({
    path: location.hash.split("?")[0],
    path_values: new URLSearchParams(location.hash.split("?")[1] ?? "").getAll("p"),
  }));
  check(route.path === `#/${SF}/explorer` && route.path_values.join("|") === group,
    `clicking ${group} should open the explorer on it, got ${route.path} ${route.path_values.join(" > ")}`);
  const drilled = await session.table("explore-cells");
  check(drilled.columns[0] === "program.department",
    `the explorer should list departments of ${group}, lists ${drilled.columns[0]}`);
  session.expectNoProblems("drill from the overview");

  // Phoenix: its views draw, vendor search finds and lists payments.
  await session.goto(`/${PHOENIX}/overview`);
  await session.expectChartsDrawn(2, "Phoenix overview");
  const phoenixViews = mappingViews(join(mappings, `${PHOENIX}.toml`));
  for (const view of phoenixViews) {
    await expectViewMatchesFacts(session, workspace, view);
  }
  await session.expectCsvMatchesTable("view-top_vendors", "Phoenix top vendors");
  const topVendors = await session.table("view-top_vendors");
  const vendor = topVendors.raw[0][topVendors.columns.indexOf("vendor")];
  const needle = vendor.split(/\s+/)[0].toLowerCase();
  const search = session.page.locator('input[name="vendor-search"]');
  await search.fill(needle);
  await session.page.waitForFunction((text) => {
    const rows = [...document.querySelectorAll('[data-table="members-vendor"] tbody tr')];
    return rows.length > 0 && rows.every((tr) => tr.textContent.toLowerCase().includes(text)) &&
      document.documentElement.dataset.state === "ready";
  }, needle, { timeout: 30_000 }).catch(() => {
    throw new CheckFailure(`searching vendors for "${needle}" did not list only matching vendors`);
  });
  const expected = workspace.query(`SELECT COUNT(DISTINCT vendor) AS n FROM phoenix_checkbook.dim_vendor
    WHERE INSTR(LOWER(vendor), '${needle.replace(/'/g, "''")}') > 0`)[0].n;
  const found = await session.page.locator('[data-table="members-vendor"] .caption').innerText();
  check(shownNumber(found.split(" ")[0]) === expected,
    `vendor search for "${needle}" says "${found}", the warehouse has ${expected} matching vendors`);
  await session.expectCsvMatchesTable("members-vendor", "vendor search");
  await session.page.locator('[data-table="members-vendor"] tbody tr').first().click();
  await session.page.locator('[data-table="facts-vendor"]').waitFor({ timeout: 30_000 });
  await session.waitReady("vendor payments");
  const payments = await session.table("facts-vendor");
  check(payments.raw.length > 0, "choosing a vendor should list its payments");
  await session.expectCsvMatchesTable("facts-vendor", "vendor payments");
  session.expectNoProblems("Phoenix overview");
  await session.screenshot("overview-phoenix");
}

// View columns that hold dollars.
const MONEY_COLUMNS = new Set(["amount", "revenue", "spending", "net", "max_spending"]);

// Every number the view's table shows equals what `citybooks query` computes
// from the facts with the view's sql_from_facts, row by row, at the
// precision shown.
async function expectViewMatchesFacts(session, workspace, view) {
  const schema = view.sqlFromFacts.includes("fact_payment") ? "phoenix_checkbook" : "sf_spending_revenue";
  const expected = workspace.query(view.sqlFromFacts.replaceAll("{schema}", schema));
  const shown = await session.table(`view-${view.name}`);
  check(shown.raw.length === expected.length,
    `view ${view.name} shows ${shown.raw.length} rows, its facts SQL gives ${expected.length}`);
  expected.forEach((row, r) => {
    shown.columns.forEach((column, c) => {
      check(column in row, `view ${view.name}: column ${column} is not in its facts SQL`);
      const value = row[column];
      const text = shown.text[r][c];
      check(sameValue(shown.raw[r][c], value),
        `view ${view.name} row ${r + 1} ${column}: the API gave ${shown.raw[r][c]}, the facts ${value}`);
      if (typeof value === "number") {
        // Shown to at least the value's own precision (cents for money), and
        // money as dollars.
        const number = shownNumber(text);
        const decimals = (text.replace(/[^0-9.]/g, "").split(".")[1] ?? "").length;
        const needed = Math.min(2, (String(value).split(".")[1] ?? "").length);
        check(decimals >= needed && Math.abs(number - value) <= 0.5 * 10 ** -decimals + 1e-9 * Math.abs(value),
          `view ${view.name} row ${r + 1} ${column}: shows "${text}", the facts give ${value}`);
        check(!MONEY_COLUMNS.has(column) || /^-?\$/.test(text),
          `view ${view.name} row ${r + 1} ${column}: "${text}" should be shown as money`);
      } else {
        check(text === String(value ?? ""), `view ${view.name} row ${r + 1} ${column}: shows "${text}", the facts give "${value}"`);
      }
    });
  });
}

// ---------------------------------------------------------------------------
// Explorer: drill organization group → department → program → facts by bar
// and row clicks, breadcrumbs back, the fiscal-year selector against SQL.

async function checkExplorer({ session, workspace }) {
  await session.goto(`/${SF}/explorer?h=program`);
  await session.expectChartsDrawn(2, "explorer");
  const top = await session.table("explore-cells");
  check(top.columns[0] === "program.organization_group",
    `the explorer should open on organization groups, opens on ${top.columns[0]}`);
  await session.expectCsvMatchesTable("explore-cells", "explorer top level");
  await session.expectCsvMatchesTable("explore-years", "explorer years");
  await session.screenshot("explorer");

  // Bar click: organization group -> its departments, whose amounts add up
  // to the group's.
  const amountColumn = top.columns.indexOf("amount.sum");
  const group = top.raw[0][0];
  const groupAmount = Number(top.raw[0][amountColumn]);
  await session.navigating(() => session.clickChartItem("explore-members", 0, 0, "explorer chart"),
    "click on the first bar");
  const departments = await session.table("explore-cells");
  check(departments.columns[0] === "program.department",
    `clicking ${group} should list departments, lists ${departments.columns[0]}`);
  check(JSON.stringify(departments.raw) !== JSON.stringify(top.raw), "drilling down did not change the numbers");
  const caption = await session.page.locator('[data-table="explore-cells"] .row-count').innerText();
  if (!caption.includes(" of ")) {
    const sum = departments.raw.reduce((total, row) => total + Number(row[departments.columns.indexOf("amount.sum")]), 0);
    check(Math.abs(sum - groupAmount) < 0.01,
      `the departments of ${group} add up to ${sum.toFixed(2)}, the group shows ${groupAmount.toFixed(2)}`);
  }
  const crumbs = await session.page.locator(".breadcrumbs").innerText();
  check(crumbs.includes(group), `the breadcrumbs should show ${group}: ${crumbs}`);
  await session.expectCsvMatchesTable("explore-cells", "explorer departments");

  // Row click: department -> its programs.
  const department = departments.raw[0][0];
  await session.navigating(() => session.page.locator('[data-table="explore-cells"] tbody tr').first().click(),
    "click on the first department row");
  const programs = await session.table("explore-cells");
  check(programs.columns[0] === "program.program",
    `clicking ${department} should list programs, lists ${programs.columns[0]}`);

  // Below the last level: the transactions themselves.
  await session.navigating(() => session.page.locator('[data-table="explore-cells"] tbody tr').first().click(),
    "click on the first program row");
  const facts = await session.table("explore-facts");
  check(facts.raw.length > 0, "the last drill-down level should list transactions");
  await session.expectCsvMatchesTable("explore-facts", "explorer transactions");

  // Breadcrumb back to the top.
  await session.navigating(() => session.page.locator(".breadcrumbs a").first().click(), "breadcrumb to the top");
  const back = await session.table("explore-cells");
  check(back.columns[0] === "program.organization_group", "the first breadcrumb should go back to organization groups");

  // Fiscal year selector: the numbers are that year's, as SQL computes them.
  const year = workspace.query(
    "SELECT MAX(fiscal_year) AS year FROM sf_spending_revenue.fact_transaction")[0].year;
  await session.navigating(() => session.page.selectOption('select[name="fiscal-year"]', String(year)),
    "choosing a fiscal year");
  const ofYear = await session.table("explore-cells");
  const expected = workspace.query(`
    SELECT p.organization_group AS member, SUM(f.amount_cents) / 100.0 AS amount, COUNT(*) AS n
    FROM sf_spending_revenue.fact_transaction f
    JOIN sf_spending_revenue.dim_program p ON p.program_id = f.program_id
    JOIN sf_spending_revenue.dim_finance r ON r.finance_id = f.finance_id
    WHERE f.fiscal_year = ${year} AND r.revenue_or_spending = 'Spending'
    GROUP BY p.organization_group ORDER BY amount DESC`);
  check(ofYear.raw.length === expected.length,
    `FY${year} shows ${ofYear.raw.length} organization groups, SQL finds ${expected.length}`);
  for (const row of expected) {
    const shown = ofYear.raw.find((cells) => cells[0] === row.member);
    check(shown, `FY${year}: ${row.member} is missing`);
    check(Math.abs(Number(shown[ofYear.columns.indexOf("amount.sum")]) - row.amount) < 0.005,
      `FY${year} ${row.member}: shows ${shown[ofYear.columns.indexOf("amount.sum")]}, SQL gives ${row.amount}`);
    check(Number(shown[ofYear.columns.indexOf("_count")]) === row.n,
      `FY${year} ${row.member}: shows ${shown[ofYear.columns.indexOf("_count")]} transactions, SQL counts ${row.n}`);
  }

  // Another hierarchy: character -> object.
  await session.navigating(() => session.page.selectOption('select[name="hierarchy"]', "type"), "choosing type");
  const characters = await session.table("explore-cells");
  check(characters.columns[0] === "type.character", `the type hierarchy should start at character, starts at ${characters.columns[0]}`);
  await session.navigating(() => session.clickChartItem("explore-members", 0, 0, "explorer chart"),
    "click on the first character");
  const objects = await session.table("explore-cells");
  check(objects.columns[0] === "type.object", `clicking a character should list objects, lists ${objects.columns[0]}`);
  session.expectNoProblems("explorer");

  // Phoenix explores too.
  await session.goto(`/${PHOENIX}/explorer`);
  await session.expectChartsDrawn(2, "Phoenix explorer");
  await session.expectCsvMatchesTable("explore-cells", "Phoenix explorer");
  session.expectNoProblems("Phoenix explorer");
}

// ---------------------------------------------------------------------------
// Models: Benford chart and table, duplicates, outliers, forecast — or the
// API's note for each model table while `citybooks model` is not available.

async function checkModels({ session, workspace }) {
  for (const dataset of [SF, PHOENIX]) {
    const where = `${dataset} models`;
    await session.goto(`/${dataset}/models`);
    const notes = await session.page.locator(".message.note").allInnerTexts();
    const errors = await session.page.locator(".message.error").allInnerTexts();
    check(errors.length === 0, `${where}: ${errors.join("; ")}`);
    if (!workspace.modelled) {
      check(notes.length >= 3, `${where}: without models each model section should show the API's note`);
      session.expectNoProblems(where);
      await session.screenshot(dataset === SF ? "models" : "models-phoenix");
      continue;
    }
    await session.expectChartsDrawn(2, where);
    const benford = await session.table("benford");
    check(benford.raw.length > 0, `${where}: the Benford table is empty`);
    const badges = await session.page.locator('[data-table="benford"] .badge').allInnerTexts();
    check(badges.length === benford.raw.length &&
      badges.every((b) => ["close", "acceptable", "marginal", "nonconformity", "small sample"].includes(b)),
    `${where}: every Benford row needs a conformity badge, got ${badges.join(", ")}`);
    await session.expectCsvMatchesTable("benford", `${where} Benford`);
    await session.expectCsvMatchesTable("benford-digits", `${where} Benford digits`);
    const digits = await session.table("benford-digits");
    check(digits.raw.length === 9, `${where}: the first-digit test should have 9 digits, has ${digits.raw.length}`);

    // Choosing another group redraws the chart for it.
    if (benford.raw.length > 1) {
      const before = await session.page.locator('[data-card="benford"] h3').innerText();
      const row = session.page.locator('[data-table="benford"] tbody tr:not(.active)').first();
      await session.navigating(() => row.click(), `${where}: click on a Benford group`);
      const after = await session.page.locator('[data-card="benford"] h3').innerText();
      check(after !== before, `${where}: choosing a Benford group did not change the chart (${after})`);
      await session.expectChartsDrawn(2, where);
    }
    // The group picker charts the chosen group with its conformity, as the
    // warehouse holds it (Phoenix: the department whose amounts were invented).
    const schema = dataset === SF ? "sf_spending_revenue" : "phoenix_checkbook";
    const [picked] = workspace.query(`SELECT group_kind, group_name, conformity FROM ${schema}.model_benford
      WHERE test = 'first_digit' AND group_kind = 'department' AND run_id = (SELECT MAX(run_id) FROM ${schema}.model_benford)
      ORDER BY CASE WHEN group_name = 'Parks and Recreation' THEN 0 ELSE 1 END, amounts DESC LIMIT 1`);
    if (picked) {
      const value = `${picked.group_kind}:${picked.group_name}`;
      if (await session.page.locator('select[name="benford-group"]').inputValue() !== value) {
        await session.navigating(() => session.page.selectOption('select[name="benford-group"]', value),
          `${where}: picking ${picked.group_name}`);
      }
      const heading = await session.page.locator('[data-card="benford"] h3').innerText();
      check(heading.startsWith(picked.group_name), `${where}: picking ${picked.group_name} charts "${heading}"`);
      const badge = await session.page.locator('[data-card="benford"] .split .badge').innerText();
      check(badge === picked.conformity.replace(/_/g, " "),
        `${where}: ${picked.group_name} shows conformity "${badge}", the warehouse has "${picked.conformity}"`);
      await session.expectChartsDrawn(2, where);
    }
    for (const table of ["outliers", "forecast"]) {
      if (await session.page.locator(`[data-table="${table}"]`).count()) {
        await session.expectCsvMatchesTable(table, `${where} ${table}`);
      } else {
        check(notes.length > 0, `${where}: ${table} shows neither rows nor a note`);
      }
    }
    if (dataset === PHOENIX && await session.page.locator('[data-table="duplicate_payments"]').count()) {
      await session.expectCsvMatchesTable("duplicate_payments", `${where} duplicates`);
    }
    session.expectNoProblems(where);
    await session.screenshot(dataset === SF ? "models" : "models-phoenix");
  }
}

// ---------------------------------------------------------------------------
// Quality and run history.

async function checkQuality({ session, workspace }) {
  await session.goto(`/${SF}/quality`);
  await session.expectChartsDrawn(1, "quality");
  const checks = await session.table("quality");
  const total = workspace.query("SELECT COUNT(*) AS n FROM sf_spending_revenue.cb_quality")[0].n;
  check(checks.raw.length === Math.min(total, 50), `the quality table shows ${checks.raw.length} checks of ${total}`);
  await session.expectCsvMatchesTable("quality", "quality");
  const runs = await session.table("runs");
  const runCount = workspace.query("SELECT COUNT(*) AS n FROM sf_spending_revenue.cb_runs")[0].n;
  check(runs.raw.length === Math.min(runCount, 25), `the run history shows ${runs.raw.length} runs of ${runCount}`);
  await session.expectCsvMatchesTable("runs", "runs");
  session.expectNoProblems("quality");
  await session.screenshot("quality");

  await session.navigating(() => session.page.selectOption("#dataset", PHOENIX), "switching dataset");
  await session.expectChartsDrawn(1, "Phoenix quality");
  await session.expectCsvMatchesTable("quality", "Phoenix quality");
  session.expectNoProblems("Phoenix quality");
}

// ---------------------------------------------------------------------------
// SQL console: a SELECT shows its rows (and downloads them); a write is refused
// with the server's message and changes nothing.

async function checkSql({ session, workspace }) {
  await session.goto(`/${SF}/sql`);
  const sql = "SELECT p.organization_group, COUNT(*) AS facts, SUM(f.amount_cents) AS cents " +
    "FROM sf_spending_revenue.fact_transaction f " +
    "JOIN sf_spending_revenue.dim_program p ON p.program_id = f.program_id " +
    "GROUP BY p.organization_group ORDER BY facts DESC, p.organization_group";
  await session.page.locator("textarea#sql").fill(sql);
  await session.page.locator('button[type="submit"]').click();
  await session.page.locator('[data-table="sql"]').waitFor({ timeout: 30_000 });
  await session.waitReady("SQL result");
  const shown = await session.table("sql");
  const expected = workspace.query(sql);
  check(shown.raw.length === expected.length, `the console shows ${shown.raw.length} rows, query gives ${expected.length}`);
  expected.forEach((row, r) => shown.columns.forEach((column, c) => check(sameValue(shown.raw[r][c], row[column]),
    `SQL row ${r + 1} ${column}: shows ${shown.raw[r][c]}, query gives ${row[column]}`)));
  await session.expectCsvMatchesTable("sql", "SQL console");
  session.expectNoProblems("SQL console");
  await session.screenshot("sql");

  const before = workspace.query("SELECT COUNT(*) AS n FROM sf_spending_revenue.fact_transaction")[0].n;
  const write = "DELETE FROM sf_spending_revenue.fact_transaction";
  await session.page.locator("textarea#sql").fill(write);
  // The refusal is an HTTP 400, which Chromium also logs to the console.
  const refusal = await session.allowing(
    (problem) => /\/api\/sql\b/.test(problem) && /400/.test(problem) ||
      /status of 400/.test(problem),
    async () => {
      const [response] = await Promise.all([
        session.page.waitForResponse((r) => r.url().endsWith("/api/sql") && r.request().method() === "POST"),
        session.page.locator('button[type="submit"]').click(),
      ]);
      return response;
    });
  check(refusal.status() === 400, `a write should be refused with HTTP 400, got ${refusal.status()}`);
  const body = await refusal.json();
  await session.page.locator(".sql-result .message.error").waitFor({ timeout: 30_000 });
  const message = await session.page.locator(".sql-result .message.error").innerText();
  check(body.error && message.trim() === body.error.message.trim(),
    `the console should show the server's refusal "${body.error?.message}", shows "${message}"`);
  check(await session.page.locator('[data-table="sql"]').count() === 0, "a refused statement should show no table");
  const after = workspace.query("SELECT COUNT(*) AS n FROM sf_spending_revenue.fact_transaction")[0].n;
  check(after === before, `the refused DELETE changed the facts: ${before} before, ${after} after`);
  session.expectNoProblems("SQL console refusal");
  await session.screenshot("sql-refused");
}

// ---------------------------------------------------------------------------

async function main() {
  const { values } = parseArgs({
    options: {
      page: { type: "string" },
      citybooks: { type: "string" },
      "node-modules": { type: "string" },
      mappings: { type: "string" },
      screenshots: { type: "string" },
      workspace: { type: "string", default: "" },
      "base-url": { type: "string", default: "" },
    },
  });
  const page = PAGES[values.page];
  if (!page || !values.citybooks || !values["node-modules"] || !values.mappings || !values.screenshots) {
    console.error(`usage: node dashboard_test.mjs --page ${Object.keys(PAGES).join("|")} --citybooks PATH ` +
      "--node-modules DIR --mappings DIR --screenshots DIR [--workspace DIR] [--base-url URL]");
    process.exit(2);
  }
  // Children run in the workspace folder: every path must be absolute.
  for (const key of ["citybooks", "node-modules", "mappings", "screenshots"]) values[key] = resolve(values[key]);
  if (values.workspace) values.workspace = resolve(values.workspace);
  const testName = `Browser.${page.name}`;
  let workspace = null;
  let session = null;
  let failed = null;
  // Stopped from outside (ctest's timeout, Ctrl-C): stop the server too.
  for (const signal of ["SIGINT", "SIGTERM"]) {
    process.on(signal, () => {
      workspace?.killServers();
      workspace?.remove();
      console.error(`${testName}: FAILED: stopped by ${signal}`);
      process.exit(1);
    });
  }
  mkdirSync(values.screenshots, { recursive: true });
  try {
    workspace = await Workspace.create(values.citybooks, values.workspace);
    const baseUrl = values["base-url"] || (await workspace.serve()).url;
    session = await BrowserSession.open(values["node-modules"], baseUrl, page.name, values.screenshots);
    await page.run({ session, workspace, mappings: values.mappings });
  } catch (error) {
    failed = error;
    if (session) await session.screenshot(`${values.page}-failed`).catch(() => {});
  } finally {
    if (session) await session.close().catch(() => {});
    if (workspace) await workspace.close().catch(() => {});
  }
  if (failed) {
    const detail = failed instanceof CheckFailure ? failed.message : (failed.stack ?? String(failed));
    console.error(`${testName}: FAILED: ${detail}`);
    process.exit(1);
  }
  console.log(`${testName}: passed${workspace.modelled ? "" : " (models not available in this build: notes checked)"}`);
}

await main();
