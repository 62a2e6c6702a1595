// Writes criterion's medians (target/criterion/**/new/estimates.json) into the native section
// of the given Markdown file, between `<!-- native:begin -->` and `<!-- native:end -->`.
import { readFileSync, writeFileSync, readdirSync, existsSync, statSync } from "node:fs";
import path from "node:path";
import os from "node:os";
import { gzipSync } from "node:zlib";

const file = process.argv[2];
const base = "target/criterion";
const rows = [];
(function walk(dir) {
  for (const name of readdirSync(dir)) {
    const p = path.join(dir, name);
    if (!statSync(p).isDirectory() || name === "report" || name === "base") continue;
    const estimates = path.join(p, "new", "estimates.json");
    if (existsSync(estimates)) {
      const e = JSON.parse(readFileSync(estimates, "utf8"));
      rows.push([path.relative(base, p), e.median.point_estimate, e.median.confidence_interval]);
    } else walk(p);
  }
})(base);
const order = ["token_verify", "bundle_verify_load", "check/", "check_many", "permissions", "workload"];
const rank = (name) => order.findIndex((o) => name.startsWith(o));
rows.sort((a, b) => rank(a[0]) - rank(b[0]) || a[0].localeCompare(b[0], "en", { numeric: true }));
const fmt = (ns) => (ns >= 1e6 ? `${(ns / 1e6).toFixed(2)} ms` : ns >= 1e3 ? `${(ns / 1e3).toFixed(2)} µs` : `${ns.toFixed(0)} ns`);
const table = rows.map(([name, median, ci]) => `| \`${name}\` | ${fmt(median)} | ${fmt(ci.lower_bound)} – ${fmt(ci.upper_bound)} |`).join("\n");
const section = `<!-- native:begin -->
## The core, natively (criterion, \`crates/workload/benches/core.rs\`)

Release build on this machine (${os.cpus().length} cores, ${os.cpus()[0]?.model ?? "unknown CPU"}). Bundle sizes are
numbers of role bindings in one organization; \`workload/100k_checks\` decides the whole
100,000-request workload (session and authorizer look-ups included).

| benchmark | median | 95% interval |
|---|---|---|
${table}
<!-- native:end -->`;
let doc = readFileSync(file, "utf8");
if (doc.includes("<!-- native:begin -->")) doc = doc.replace(/<!-- native:begin -->[\s\S]*<!-- native:end -->/, section);
else doc = doc.replace(/^# Benchmarks\n/, `# Benchmarks\n\n${section}\n`);
// Sizes of the shipped wasm, when built.
const artifacts = [
  ["Worker wasm (`crates/gateway`, `scripts/build-worker`: release, wasm-opt -Oz)", "crates/gateway/build/index_bg.wasm"],
  ["npm wasm (`crates/js`, opt-level 3, `wasm-opt -Oz`)", "npm/portcullis/dist/web/portcullis_bg.wasm"],
  ["npm policy compiler wasm (`crates/js-compiler`, loaded only by `compilePolicy`; opt-level \"z\", `wasm-opt -Oz`)", "npm/portcullis/dist/web/portcullis_compiler_bg.wasm"],
].filter(([, f]) => existsSync(f));
if (artifacts.length) {
  const n = (x) => x.toLocaleString("en");
  const sizes = `<!-- sizes:begin -->
## Sizes

| artifact | raw | gzip -9 |
|---|---|---|
${artifacts.map(([what, f]) => {
    const bytes = readFileSync(f);
    return `| ${what} | ${n(bytes.length)} bytes | ${n(gzipSync(bytes, { level: 9 }).length)} bytes |`;
  }).join("\n")}
<!-- sizes:end -->`;
  if (doc.includes("<!-- sizes:begin -->")) doc = doc.replace(/<!-- sizes:begin -->[\s\S]*<!-- sizes:end -->/, sizes);
  else doc = `${doc.trimEnd()}\n\n${sizes}\n`;
}
writeFileSync(file, doc);
console.log(`wrote the native and size sections of ${file}`);
