// Builds the dashboard into the folder given as the first argument: exactly
// index.html, app.js and app.css, which `citybooks serve` embeds.
//
//   node web/build.mjs build/release/web
//
// web/src/main.js (and everything it imports, ECharts included) is bundled by
// esbuild into app.js; the CSS it imports becomes app.css; web/src/index.html
// is copied. Nothing is fetched at run time, so the dashboard works offline.
// The output is deterministic: the same sources give the same bytes.
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const webDir = dirname(fileURLToPath(import.meta.url));
const sourceDir = join(webDir, "src");

const out = process.argv[2];
if (!out || process.argv.length > 3) {
  console.error("usage: node web/build.mjs OUT_DIR");
  process.exit(2);
}

// esbuild lives in the repository's node_modules (npm ci at the top level).
let esbuild;
try {
  esbuild = await import("esbuild");
} catch (error) {
  console.error(
    `web/build.mjs: cannot load esbuild (${error.message}); run \`npm ci\` in ${resolve(webDir, "..")}`);
  process.exit(1);
}

let result;
try {
  result = await esbuild.build({
    entryPoints: { app: join(sourceDir, "main.js") },
    absWorkingDir: resolve(webDir, ".."),
    bundle: true,
    format: "iife",
    platform: "browser",
    target: ["es2020", "chrome100", "firefox100", "safari15"],
    minify: true,
    legalComments: "eof",
    sourcemap: false,
    charset: "utf8",
    // ECharts drops its development checks and warnings.
    define: { "process.env.NODE_ENV": '"production"' },
    outdir: "out",
    write: false,
    logLevel: "silent",
  });
} catch (error) {
  const messages = (error.errors ?? []).map(
    (e) => `${e.location ? `${e.location.file}:${e.location.line}: ` : ""}${e.text}`);
  console.error(`web/build.mjs: esbuild failed: ${messages.join("; ") || error.message}`);
  process.exit(1);
}
for (const warning of result.warnings) {
  const where = warning.location ? `${warning.location.file}:${warning.location.line}: ` : "";
  console.error(`web/build.mjs: warning: ${where}${warning.text}`);
}

const files = new Map();
for (const file of result.outputFiles) files.set(basename(file.path), file.contents);
files.set("index.html", readFileSync(join(sourceDir, "index.html")));
const expected = ["index.html", "app.js", "app.css"];
for (const name of files.keys()) {
  if (!expected.includes(name)) {
    console.error(`web/build.mjs: unexpected output ${name}; the dashboard must be exactly ${expected.join(", ")}`);
    process.exit(1);
  }
}
for (const name of expected) {
  if (!files.has(name)) {
    console.error(`web/build.mjs: esbuild produced no ${name}; does web/src/main.js import app.css?`);
    process.exit(1);
  }
}

mkdirSync(out, { recursive: true });
for (const name of expected) {
  writeFileSync(join(out, name), files.get(name));
}
