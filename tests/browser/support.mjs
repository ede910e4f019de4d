// Support for the dashboard's browser tests: a citybooks workspace in a temp
// folder (generated data, ingested, loaded and modelled), `citybooks serve`
// on a loopback port picked at run time, Debian's Chromium through
// playwright-core, and checks shared by every page (no console errors or
// failed requests, charts that drew, CSV downloads equal to their tables).
//
//   const workspace = await Workspace.create(citybooksPath);
//   const server = await workspace.serve();
//   const session = await BrowserSession.open(nodeModules, server.url, "Overview");
//   await session.goto("/sf-spending-revenue/overview");
//   await session.expectChartsDrawn(4);
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

export const SF = "sf-spending-revenue";
export const PHOENIX = "phoenix-checkbook";
export const ROWS = 20000;

// A failed expectation; the runner prints it under the page's test name.
export class CheckFailure extends Error {}

export function check(condition, message) {
  if (!condition) throw new CheckFailure(message);
}

function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

// Runs a command to completion; fails with its stderr unless it exits 0.
function run(command, args, cwd, { allowFailure = false } = {}) {
  const result = spawnSync(command, args, { cwd, encoding: "utf8", maxBuffer: 256 * 1024 * 1024 });
  if (result.error) throw new CheckFailure(`cannot run ${command}: ${result.error.message}`);
  if (!allowFailure && result.status !== 0) {
    throw new CheckFailure(`\`${[command, ...args].join(" ")}\` exited ${result.status}: ${result.stderr.trim()}`);
  }
  return result;
}

// A port free on 127.0.0.1 right now.
function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

export class Workspace {
  constructor(citybooks, directory, { owned }) {
    this.citybooks = citybooks;
    this.directory = directory;
    this.owned = owned;
    this.modelled = false;
    this.servers = [];
  }

  // A fresh folder with both cities generated, ingested, loaded and (when
  // this build has `model`) modelled. With `existing`, reuses that folder as
  // it is (for debugging a page against a workspace already set up).
  static async create(citybooks, existing = "") {
    if (existing) {
      const workspace = new Workspace(citybooks, existing, { owned: false });
      workspace.modelled = true;
      return workspace;
    }
    const directory = mkdtempSync(join(tmpdir(), "citybooks-browser-"));
    const workspace = new Workspace(citybooks, directory, { owned: true });
    try {
      workspace.setUp();
    } catch (error) {
      workspace.remove();
      throw error;
    }
    return workspace;
  }

  citybooksRun(args, options) {
    return run(this.citybooks, args, this.directory, options);
  }

  setUp() {
    const help = this.citybooksRun(["gen", "--help"]).stdout;
    // Phoenix anomalies for the models to find, when this build's generator
    // plants them: a department with invented amounts (not Benford),
    // payments made twice, extreme amounts.
    const anomalies = [
      ["--fabricate-department", "Parks and Recreation"], ["--duplicates", "20"], ["--extremes", "10"],
    ].filter(([flag]) => help.includes(flag)).flat();
    this.citybooksRun(["gen", "sf", "--rows", String(ROWS), "--out", "sf.csv"]);
    this.citybooksRun(["gen", "phoenix", "--rows", String(ROWS), "--out", "phoenix.csv", ...anomalies]);
    this.citybooksRun(["ingest", SF, "sf.csv"]);
    this.citybooksRun(["ingest", PHOENIX, "phoenix.csv"]);
    this.citybooksRun(["load"]);
    const model = this.citybooksRun(["model"], { allowFailure: true });
    if (model.status === 0) {
      this.modelled = true;
    } else if (!/not available in this build/.test(model.stderr)) {
      throw new CheckFailure(`\`citybooks model\` exited ${model.status}: ${model.stderr.trim()}`);
    }
  }

  // Rows of `citybooks query SQL --format json` (objects keyed by column).
  query(sql) {
    const result = this.citybooksRun(["query", sql, "--format", "json"]);
    return JSON.parse(result.stdout);
  }

  // Starts `citybooks serve` on a free loopback port; resolves once it
  // answers /api/datasets. Retries with another port if the one picked was
  // taken in between.
  async serve() {
    let lastError = "";
    for (let attempt = 0; attempt < 5; attempt += 1) {
      const port = await freePort();
      const child = spawn(this.citybooks, ["serve", "--bind", "127.0.0.1", "--port", String(port)], {
        cwd: this.directory, stdio: ["ignore", "pipe", "pipe"],
      });
      let stderr = "";
      child.stderr.on("data", (chunk) => { stderr += chunk; });
      child.stdout.on("data", () => {});
      const exited = new Promise((resolve) => child.on("exit", (code, signal) => resolve({ code, signal })));
      const server = { child, url: `http://127.0.0.1:${port}`, exited };
      this.servers.push(server);
      const deadline = Date.now() + 60_000;
      let ended = null;
      exited.then((status) => { ended = status; });
      while (Date.now() < deadline && !ended) {
        try {
          const response = await fetch(`${server.url}/api/datasets`);
          if (response.ok) return server;
        } catch {
          // not listening yet
        }
        await sleep(100);
      }
      if (!ended) {
        await stopServer(server);
        throw new CheckFailure(`citybooks serve did not answer on port ${port} within 60 s: ${stderr.trim()}`);
      }
      lastError = `citybooks serve exited (${ended.code ?? ended.signal}): ${stderr.trim()}`;
      if (!/bind|address|in use/i.test(stderr)) break;
    }
    throw new CheckFailure(lastError);
  }

  // Kills every server at once (when this process is being stopped).
  killServers() {
    for (const { child } of this.servers) {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    }
  }

  async close() {
    for (const server of this.servers) await stopServer(server);
    this.servers = [];
    this.remove();
  }

  remove() {
    if (this.owned) rmSync(this.directory, { recursive: true, force: true });
  }
}

async function stopServer(server) {
  const { child } = server;
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill("SIGTERM");
  const stopped = await Promise.race([server.exited.then(() => true), sleep(10_000).then(() => false)]);
  if (!stopped) {
    child.kill("SIGKILL");
    await server.exited;
  }
}

// RFC 4180: quoted fields may hold commas, quotes ("") and line breaks.
export function parseCsv(text) {
  const rows = [];
  let row = [];
  let field = "";
  let quoted = false;
  let i = 0;
  if (text.charCodeAt(0) === 0xfeff) i = 1;
  for (; i < text.length; i += 1) {
    const c = text[i];
    if (quoted) {
      if (c === '"') {
        if (text[i + 1] === '"') {
          field += '"';
          i += 1;
        } else {
          quoted = false;
        }
      } else {
        field += c;
      }
    } else if (c === '"') {
      quoted = true;
    } else if (c === ",") {
      row.push(field);
      field = "";
    } else if (c === "\n" || c === "\r") {
      if (c === "\r" && text[i + 1] === "\n") i += 1;
      row.push(field);
      rows.push(row);
      row = [];
      field = "";
    } else {
      field += c;
    }
  }
  if (field !== "" || row.length) {
    row.push(field);
    rows.push(row);
  }
  return rows;
}

// True when two values as text are the same value: equal strings, or equal
// numbers (so "1.50" and "1.5" agree), or both empty/null.
export function sameValue(a, b) {
  const left = a === null || a === undefined ? "" : String(a);
  const right = b === null || b === undefined ? "" : String(b);
  if (left === right) return true;
  if (left.trim() !== "" && right.trim() !== "") {
    const x = Number(left);
    const y = Number(right);
    if (Number.isFinite(x) && Number.isFinite(y)) return Math.abs(x - y) <= 1e-9 * Math.max(1, Math.abs(x), Math.abs(y));
  }
  const bool = { true: "1", false: "0" };
  return (bool[left] ?? left) === (bool[right] ?? right);
}

// Parses a number as the dashboard shows it: "$1,234.50", "-$3.00", "12.5%", "1,024".
export function shownNumber(text) {
  const cleaned = String(text).trim().replace(/[$,%\s]/g, "").replace(/^\((.*)\)$/, "-$1");
  if (cleaned === "" || !/^[-+]?\d*\.?\d+(e[-+]?\d+)?$/i.test(cleaned)) return NaN;
  return Number(cleaned);
}

// One browser page with every console message, page error, failed request
// and HTTP error recorded as a problem. `allow(problem)` can excuse the ones a
// step expects (the SQL console's refusal).
export class BrowserSession {
  static async open(nodeModules, baseUrl, pageName, screenshotDir) {
    const require = createRequire(join(nodeModules, "noop.js"));
    let chromium;
    try {
      ({ chromium } = require("playwright-core"));
    } catch (error) {
      throw new CheckFailure(`cannot load playwright-core from ${nodeModules} (${error.message}); run \`npm ci\``);
    }
    const browser = await chromium.launch({ executablePath: "/usr/bin/chromium", args: ["--no-sandbox"] });
    const context = await browser.newContext({ viewport: { width: 1400, height: 900 }, acceptDownloads: true });
    const page = await context.newPage();
    return new BrowserSession(browser, page, baseUrl, pageName, screenshotDir);
  }

  constructor(browser, page, baseUrl, pageName, screenshotDir) {
    this.browser = browser;
    this.page = page;
    this.baseUrl = baseUrl;
    this.pageName = pageName;
    this.screenshotDir = screenshotDir;
    this.problems = [];
    this.allowances = [];
    page.on("console", (message) => {
      if (message.type() === "error" || message.type() === "warning") {
        this.problem(`console.${message.type()}: ${message.text()}`);
      }
    });
    page.on("pageerror", (error) => this.problem(`page error: ${error.message}`));
    page.on("requestfailed", (request) => {
      // A download's navigation is handed to the download manager, not failed.
      if (request.failure()?.errorText === "net::ERR_ABORTED" && /\.csv(\?|$)|^blob:/.test(request.url())) return;
      this.problem(`request failed: ${request.method()} ${request.url()}: ${request.failure()?.errorText}`);
    });
    page.on("response", (response) => {
      if (response.status() >= 400) {
        this.problem(`HTTP ${response.status()} for ${response.request().method()} ${response.url()}`);
      }
    });
  }

  problem(text) {
    if (this.allowances.some((allow) => allow(text))) return;
    this.problems.push(text);
  }

  // Runs `step` with problems matching `allow` excused.
  async allowing(allow, step) {
    this.allowances.push(allow);
    try {
      return await step();
    } finally {
      await this.page.waitForTimeout(200);
      this.allowances = this.allowances.filter((a) => a !== allow);
    }
  }

  expectNoProblems(where) {
    check(this.problems.length === 0, `${where}: ${this.problems.join("; ")}`);
  }

  // Opens #route and waits until the page has drawn.
  async goto(route) {
    await this.page.goto(`${this.baseUrl}/#${route}`);
    await this.waitReady(route);
  }

  // Waits until <html data-state> leaves "loading"; fails on "error".
  async waitReady(where) {
    await this.page.waitForFunction(() => {
      const state = document.documentElement.dataset.state;
      return state === "ready" || state === "error";
    }, null, { timeout: 60_000 });
    const state = await this.page.evaluate(() => document.documentElement.dataset.state);
    if (state !== "ready") {
      const text = await this.page.locator(".message.error").allInnerTexts();
      throw new CheckFailure(`${where} did not draw: ${text.join("; ") || "state " + state}`);
    }
    // Charts are drawn in a microtask after the page; let them paint.
    await this.page.evaluate(() => new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve))));
  }

  // Runs `action` (which changes the route) and waits for the new page.
  async navigating(action, where) {
    const before = await this.page.evaluate(() => location.hash);
    await action();
    await this.page.waitForFunction((hash) => location.hash !== hash, before, { timeout: 30_000 })
      .catch(() => { throw new CheckFailure(`${where}: the click did not change the view (still ${before})`); });
    await this.waitReady(where);
  }

  async charts() {
    return this.page.evaluate(() => window.citybooks.charts());
  }

  // Every live chart has series with data and its canvas is not blank;
  // at least `count` charts.
  async expectChartsDrawn(count, where) {
    const charts = await this.charts();
    check(charts.length >= count, `${where}: expected ${count} charts, found ${charts.length} (${charts.map((c) => c.id).join(", ")})`);
    for (const chart of charts) {
      check(chart.series.length > 0 && chart.series.some((s) => s.points > 0),
        `${where}: chart ${chart.id} has no series data`);
      const painted = await this.page.evaluate((id) => {
        const canvas = document.querySelector(`[data-chart="${id}"] canvas`);
        if (!canvas || !canvas.width || !canvas.height) return -1;
        // Read a copy, so the chart's own context is never read back.
        const copy = document.createElement("canvas");
        copy.width = canvas.width;
        copy.height = canvas.height;
        const context = copy.getContext("2d", { willReadFrequently: true });
        context.drawImage(canvas, 0, 0);
        const pixels = context.getImageData(0, 0, canvas.width, canvas.height).data;
        let count = 0;
        for (let i = 3; i < pixels.length; i += 4) if (pixels[i] !== 0) count += 1;
        return count / (canvas.width * canvas.height);
      }, chart.id);
      check(painted > 0.01, `${where}: the canvas of chart ${chart.id} is blank (${painted})`);
    }
    return charts;
  }

  // Clicks item `index` of series `series` of chart `id` with the mouse.
  async clickChartItem(id, series, index, where) {
    const point = await this.page.evaluate(([c, s, i]) => window.citybooks.itemPoint(c, s, i), [id, series, index]);
    check(point, `${where}: chart ${id} has no item ${index}`);
    await this.page.mouse.move(point.x, point.y);
    await this.page.mouse.click(point.x, point.y);
  }

  // The table `[data-table=id]`: its column names (data-col), the API values
  // of its cells (data-raw) and the text shown.
  async table(id) {
    const locator = this.page.locator(`[data-table="${id}"]`);
    check(await locator.count() === 1, `table ${id} is not on the page`);
    return locator.evaluate((block) => ({
      columns: [...block.querySelectorAll("thead th")].map((th) => th.dataset.col),
      raw: [...block.querySelectorAll("tbody tr")].map((tr) => [...tr.children].map((td) => td.dataset.raw)),
      text: [...block.querySelectorAll("tbody tr")].map((tr) => [...tr.children].map((td) => td.textContent.trim())),
    }));
  }

  // Downloads the table's CSV with its "Download CSV" link and checks it has
  // exactly the rows shown: same count, same order, every shown column equal.
  async expectCsvMatchesTable(id, where) {
    const shown = await this.table(id);
    const [download] = await Promise.all([
      this.page.waitForEvent("download", { timeout: 30_000 }),
      this.page.locator(`[data-table="${id}"] a.csv`).click(),
    ]);
    const failure = await download.failure();
    check(!failure, `${where}: the CSV download of ${id} failed: ${failure}`);
    const path = await download.path();
    const csv = parseCsv(readFileSync(path, "utf8"));
    check(csv.length >= 1, `${where}: the CSV of ${id} is empty`);
    const header = csv[0];
    const rows = csv.slice(1);
    check(rows.length === shown.raw.length,
      `${where}: the CSV of ${id} has ${rows.length} rows, the table shows ${shown.raw.length}`);
    const positions = shown.columns.map((column) => header.indexOf(column));
    shown.columns.forEach((column, i) => check(positions[i] >= 0,
      `${where}: the CSV of ${id} has no column ${column} (header: ${header.join(",")})`));
    rows.forEach((row, r) => {
      shown.columns.forEach((column, c) => {
        const fromCsv = row[positions[c]];
        const fromTable = shown.raw[r][c];
        check(sameValue(fromCsv, fromTable),
          `${where}: ${id} row ${r + 1} column ${column}: CSV has "${fromCsv}", the table "${fromTable}"`);
      });
    });
    return { header, rows };
  }

  async screenshot(name) {
    await this.page.evaluate(() => window.scrollTo(0, 0));
    await this.page.screenshot({ path: join(this.screenshotDir, `${name}.png`), fullPage: true });
  }

  async close() {
    await this.browser.close();
  }
}

// The views declared in a mapping TOML: name and sql_from_facts (the TOML
// here is the project's own, so a light reading of [[views]] blocks is enough).
export function mappingViews(path) {
  const text = readFileSync(path, "utf8");
  return text.split(/^\[\[views\]\]\s*$/m).slice(1).map((block) => {
    const name = /^name\s*=\s*"([^"]+)"/m.exec(block)?.[1];
    const sql = /^sql_from_facts\s*=\s*"""([\s\S]*?)"""/m.exec(block)?.[1];
    return { name, sqlFromFacts: sql?.trim() };
  }).filter((view) => view.name && view.sqlFromFacts);
}

