// Builds the dashboard into the folder given as the first argument:
// index.html, app.js and app.css, which `citybooks serve` embeds.
// (Placeholder until the dashboard lands.)
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const out = process.argv[2];
if (!out) {
  console.error("usage: node web/build.mjs OUT_DIR");
  process.exit(2);
}
mkdirSync(out, { recursive: true });
writeFileSync(join(out, "index.html"),
  '<!doctype html><html><head><meta charset="utf-8"><title>citybooks</title>' +
  '<link rel="stylesheet" href="app.css"></head><body><div id="app"></div>' +
  '<script src="app.js"></script></body></html>\n');
writeFileSync(join(out, "app.js"), 'document.getElementById("app").textContent = "citybooks";\n');
writeFileSync(join(out, "app.css"), "body { font-family: sans-serif; }\n");
