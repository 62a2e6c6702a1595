// The control plane's publish latency: the time from an API write to the new signed bundle in
// KV, for organizations of 100, 1,000 and 10,000 members, in workerd (Miniflare) with real D1
// and KV. Each write adds a new user (a name never seen before) to an organization whose
// members hold access levels (Write or Read, a tenth of them with an allow override on a
// template); the answer comes once the bundle is in KV, and its version is checked there.
//
//   node bench/control-publish.mjs [--quick] [--out docs/benchmarks.md]
//
// Writes run one after another; the figures are p50 and p99 over them. Timings are reported,
// never asserted (the target, p50 ≤ 100 ms at 1,000 members, is compared in the report).
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { mint, startControlPlane } from "../tests/control/harness.mjs";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const args = process.argv.slice(2);
const quick = args.includes("--quick");
const outFile = args.includes("--out") ? args[args.indexOf("--out") + 1] : null;
const sizes = [100, 1000, 10000];
const writes = quick ? { 100: 10, 1000: 10, 10000: 3 } : { 100: 100, 1000: 100, 10000: 30 };

/** The access-levels example grown to `n` members. */
function organization(n) {
  const source = JSON.parse(readFileSync(path.join(root, "examples/access-levels.json"), "utf8"));
  const org = source.orgs[0];
  const extra = n - org.users.length;
  for (let i = 0; i < extra; i++) {
    const id = `member-${i}@example.com`;
    org.users.push({ id, name: `Member ${i}` });
    org.bindings.push({ role: i % 3 === 0 ? "Write" : "Read", user: id });
    if (i % 10 === 0) {
      org.overrides.push({ id: `member-${i}-template`, effect: "allow", user: id, permissions: ["template:*"],
        resource: { type: "template", id: `tmpl-${i}` } });
    }
  }
  return source;
}

const percentile = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor((sorted.length - 1) * p))];
const rows = [];
const cp = await startControlPlane({ faultyKv: false });
try {
  let sue = await mint({ sub: "sue" });
  for (const n of sizes) {
    const org = "northwind";
    const t0 = performance.now();
    const imported = await cp.importPolicy(org, organization(n));
    sue = await mint({ sub: "sue" });
    const importMs = performance.now() - t0;
    const times = [];
    for (let i = 0; i < writes[n]; i++) {
      const start = performance.now();
      const res = await cp.call("POST", "/iam/users", { token: sue, body: ["Read", `new-${n}-${i}-${Date.now()}@example.com`] });
      const ms = performance.now() - start;
      if (res.status !== 201) throw new Error(`write ${i} at ${n} members: ${res.status} ${JSON.stringify(res.body)}`);
      const version = Number(res.headers.get("x-portcullis-bundle-version"));
      const inKv = await cp.kvVersion(org);
      if (inKv !== version) throw new Error(`KV holds version ${inKv}, the write made ${version}`);
      times.push(ms);
    }
    times.sort((a, b) => a - b);
    const bundle = await cp.bundle(org);
    const row = { members: n, writes: times.length, p50: percentile(times, 0.5), p99: percentile(times, 0.99),
      importMs, bytes: bundle.bytes, version: imported.version };
    rows.push(row);
    console.log(`${String(row.members).padStart(6)} members: p50 ${row.p50.toFixed(1)} ms, p99 ${row.p99.toFixed(1)} ms over ${row.writes} writes ` +
      `(bundle ${row.bytes} bytes; import ${importMs.toFixed(0)} ms)`);
  }
} finally {
  await cp.close();
}

const at1000 = rows.find((r) => r.members === 1000);
const table = [
  "| organization | writes (new users) | p50 | p99 | bundle after | import of the organization |",
  "|---:|---:|---:|---:|---:|---:|",
  ...rows.map((r) => `| ${r.members.toLocaleString("en")} members | ${r.writes} | ${r.p50.toFixed(1)} ms | ${r.p99.toFixed(1)} ms | ` +
    `${(r.bytes / 1024).toFixed(0)} KiB | ${r.importMs.toFixed(0)} ms |`),
].join("\n");
const verdict = `p50 ≤ 100 ms at 1,000 members: ${at1000 && at1000.p50 <= 100 ? "met" : "not met"} (${at1000?.p50.toFixed(1)} ms).`;
console.log(`\n${table}\n\n${verdict}`);
if (outFile) {
  const section = `<!-- control:begin -->
## Control plane: from an API write to the bundle in KV (\`bench/control-publish.mjs\`)

The control plane Worker in workerd (Miniflare, on this 2-core machine) with D1 and KV local:
each write is \`POST /iam/users\` adding a user never seen before to an organization of that
many members (the access-levels example grown: members with Write or Read, a tenth of them
with an allow override on a template). The answer comes once the new version is committed in
D1 (read the organization, decide with Portcullis, one guarded batch) and its signed bundle is
in KV; the version in KV is checked after every write. Writes one after another.

${table}

Target: ${verdict}
<!-- control:end -->`;
  const doc = readFileSync(outFile, "utf8");
  const begin = doc.indexOf("<!-- control:begin -->");
  const updated = begin >= 0
    ? doc.slice(0, begin) + section + doc.slice(doc.indexOf("<!-- control:end -->") + "<!-- control:end -->".length)
    : doc.includes("<!-- load:begin -->")
      ? doc.replace("<!-- load:begin -->", `${section}\n\n<!-- load:begin -->`)
      : `${doc}\n${section}\n`;
  writeFileSync(outFile, updated);
}
