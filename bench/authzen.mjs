// The AuthZEN Authorization API side by side: Cerbos PDP (its own policy language, the same
// Todo facts; bench/cerbos/todo) and Portcullis on its three surfaces — `portcullis serve`,
// the gateway Worker in workerd (`AUTHZEN = "on"`) and the npm package's `authzenHandler` on
// Node's http server — all on 127.0.0.1, asked the same AuthZEN requests (the working group's
// Todo decisions, draft 02).
//
//   node bench/authzen.mjs [--quick] [--out docs/benchmarks.md]
//
// First every request goes to every PDP and the decisions are compared: with each other and
// with the expected ones (any difference fails the run). Then wrk loads each in turn: single
// evaluations (the 40 requests in turn) and 100-item batches, 16 connections, a few seconds a
// round; the figures are medians over the rounds. Last, one connection, one request at a time:
// a Cerbos round trip against the npm package's `evaluation()` in this process. Every loop is
// bounded by wrk's duration.
import { execFileSync, spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, readFileSync, writeFileSync, rmSync, openSync } from "node:fs";
import { createRequire } from "node:module";
import net from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import readline from "node:readline";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const args = process.argv.slice(2);
const quick = args.includes("--quick");
const outFile = args.includes("--out") ? args[args.indexOf("--out") + 1] : path.join(root, "docs/benchmarks.md");
const { Miniflare } = createRequire(path.join(root, "package.json"))("miniflare");
const cli = path.join(root, "target/release/portcullis");
const keys = path.join(root, "examples/keys");
const trustedJwk = path.join(keys, "bundle-signing.public.jwk");
const cerbosBin = path.join(root, "bench/node_modules/@cerbos/cerbos-linux-x64/cerbos-linux-x64");
const compatibilityDate = readFileSync(path.join(root, "wrangler.toml"), "utf8").match(/^compatibility_date = "([0-9-]+)"$/m)[1];
const dir = mkdtempSync(path.join(tmpdir(), "portcullis-authzen-bench-"));
const children = [];
const stop = () => {
  for (const c of children) if (c.exitCode === null) c.kill("SIGTERM");
};
process.on("exit", stop);

/** `n` distinct free ports (held open together while they are picked). */
async function freePorts(n) {
  const servers = await Promise.all(Array.from({ length: n }, () => new Promise((resolve) => {
    const s = net.createServer().listen(0, "127.0.0.1", () => resolve(s));
  })));
  const ports = servers.map((s) => s.address().port);
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  return ports;
}

/** Waits until `url` answers (any status), for at most 20 s. */
async function answers(url) {
  for (let i = 0; i < 200; i += 1) {
    try {
      await fetch(url);
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  throw new Error(`${url} does not answer`);
}

// The bundle, the PEP's token, the requests.
execFileSync(cli, ["bundle", "build", path.join(root, "examples/authzen-todo.json"), "--key",
  path.join(keys, "bundle-signing.private.jwk"), "--out", dir, "--bundle-version", "1"], { stdio: "ignore" });
const bundleFile = path.join(dir, "citadel.bundle");
const token = execFileSync(cli, ["token", "mint", "--key", path.join(keys, "idp.private.jwk"), "--kind", "service",
  "--iss", "https://idp.integrations.example", "--aud", "https://pdp.citadel.example", "--sub", "todo-backend",
  "--org", "citadel", "--client-id", "todo-backend", "--ttl", "3600"], { encoding: "utf8" }).trim();
const file = JSON.parse(readFileSync(path.join(root, "tests/authzen/todo/decisions-authorization-api-1_0-02.json"), "utf8"));
const singles = file.evaluation;
const batches = file.evaluations;
// 100-item batches: the 40 requests in turn, each item whole (no defaults).
const batchOf = (start) => ({ evaluations: Array.from({ length: 100 }, (_, i) => singles[(start + i) % singles.length].request) });
const loadBatches = Array.from({ length: 8 }, (_, i) => batchOf(i * 5));

// Cerbos.
const [cerbosPort, cerbosGrpcPort] = await freePorts(2);
const cerbos = spawn(cerbosBin, ["server", "--set=storage.driver=disk", `--set=storage.disk.directory=${path.join(root, "bench/cerbos/todo")}`,
  `--set=server.httpListenAddr=127.0.0.1:${cerbosPort}`, `--set=server.grpcListenAddr=127.0.0.1:${cerbosGrpcPort}`,
  "--set=server.requestLimits.maxResourcesPerRequest=100", "--log-level=error"],
{ stdio: ["ignore", "ignore", "inherit"], env: { ...process.env, CERBOS_NO_TELEMETRY: "1" } });
children.push(cerbos);

// portcullis serve (its JSON log to a file, as a log collector would take it).
const serveLogFile = path.join(dir, "serve.log");
const serve = spawn(cli, ["serve", "--bundles", dir, "--trust", trustedJwk, "--listen", "127.0.0.1:0"],
  { stdio: ["ignore", openSync(serveLogFile, "w"), "inherit"] });
children.push(serve);
let serveAddress;
for (let i = 0; i < 200 && serveAddress === undefined; i += 1) {
  await new Promise((r) => setTimeout(r, 50));
  const line = readFileSync(serveLogFile, "utf8").split("\n").find((l) => l.includes('"listening"'));
  if (line) serveAddress = JSON.parse(line).address;
}
if (serveAddress === undefined) throw new Error("portcullis serve did not start");

// The npm package's handler, in a process of its own.
const node = spawn(process.execPath, [path.join(root, "bench/authzen-node.mjs"), path.join(root, "npm/portcullis/dist/node/index.mjs"),
  bundleFile, trustedJwk], { stdio: ["ignore", "pipe", "inherit"] });
children.push(node);
const nodePort = await new Promise((resolve) => {
  readline.createInterface({ input: node.stdout }).once("line", (line) => resolve(JSON.parse(line).port));
});

// The gateway Worker in workerd.
// Port 0: workerd takes a free port itself (a port picked here could be taken by then).
const worker = new Miniflare({
  host: "127.0.0.1",
  port: 0,
  modules: true,
  scriptPath: path.join(root, "crates/gateway/build/index.js"),
  modulesRules: [{ type: "CompiledWasm", include: ["**/*.wasm"], fallthrough: true }],
  compatibilityDate,
  kvNamespaces: { BUNDLES: "bundles" },
  bindings: { ORIGIN: "http://127.0.0.1:9", AUTHZEN: "on", BUNDLE_KEYS: JSON.stringify({ keys: [JSON.parse(readFileSync(trustedJwk, "utf8"))] }),
    BUNDLE_REFRESH_SECONDS: "300" },
  handleRuntimeStdio(stdout, stderr) {
    stdout.resume();
    stderr.resume();
  },
});
const workerUrl = await worker.ready;
const bytes = readFileSync(bundleFile);
await (await worker.getKVNamespace("BUNDLES")).put("bundle:citadel", bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));

const targets = [
  { name: "Cerbos PDP 0.55 (HTTP)", base: `http://127.0.0.1:${cerbosPort}`, token: "" },
  { name: "portcullis serve", base: `http://${serveAddress}`, token },
  { name: "gateway Worker (workerd)", base: workerUrl.origin, token },
  { name: "npm authzenHandler (Node http)", base: `http://127.0.0.1:${nodePort}`, token },
];
await answers(`${targets[0].base}/`);

async function ask(target, pathname, body) {
  const r = await fetch(target.base + pathname, {
    method: "POST",
    headers: { "content-type": "application/json", ...(target.token ? { authorization: `Bearer ${target.token}` } : {}) },
    body: JSON.stringify(body),
  });
  if (r.status !== 200) throw new Error(`${target.name}: ${pathname} answered ${r.status}: ${await r.text()}`);
  return r.json();
}

// Decisions: every request to every PDP, compared.
let compared = 0;
let differing = 0;
const wrongByTarget = new Map(targets.map((t) => [t.name, 0]));
for (const c of singles) {
  const answers = await Promise.all(targets.map((t) => ask(t, "/access/v1/evaluation", c.request)));
  compared += 1;
  if (new Set(answers.map((a) => a.decision ?? false)).size !== 1) differing += 1;
  answers.forEach((a, i) => { if ((a.decision ?? false) !== c.expected) wrongByTarget.set(targets[i].name, wrongByTarget.get(targets[i].name) + 1); });
}
for (const c of [...batches.map((b) => ({ request: b.request, expected: b.expected })), ...loadBatches.map((b) => ({ request: b, expected: null }))]) {
  const answers = await Promise.all(targets.map((t) => ask(t, "/access/v1/evaluations", c.request)));
  compared += 1;
  const texts = answers.map((a) => JSON.stringify(a.evaluations));
  if (new Set(texts).size !== 1) differing += 1;
  if (c.expected !== null) texts.forEach((t, i) => { if (t !== JSON.stringify(c.expected)) wrongByTarget.set(targets[i].name, wrongByTarget.get(targets[i].name) + 1); });
}
const wrong = [...wrongByTarget.values()].reduce((a, b) => a + b, 0);
console.log(`AuthZEN decisions: ${compared} requests (${singles.length} evaluations, ${batches.length + loadBatches.length} batches) to ${targets.length} PDPs, ${differing} differing, ${wrong} unexpected`);
if (differing > 0 || wrong > 0) {
  console.error([...wrongByTarget].map(([n, w]) => `${n}: ${w} unexpected`).join("; "));
  process.exit(1);
}

// Load with wrk.
const bodiesFile = (name, list) => {
  const f = path.join(dir, name);
  writeFileSync(f, list.map((b) => JSON.stringify(b)).join("\n") + "\n");
  return f;
};
const singleBodies = bodiesFile("singles.jsonl", singles.map((c) => c.request));
const batchBodies = bodiesFile("batches.jsonl", loadBatches);
const seconds = quick ? 1 : 5;
const rounds = quick ? 1 : 3;

const toMs = (v, unit) => Number(v) * ({ us: 1e-3, ms: 1, s: 1e3 }[unit] ?? NaN);
// wrk runs as a child this process waits for without blocking: Miniflare drains workerd's
// output here, and a blocked event loop would stall the Worker.
async function wrk(target, pathname, bodies, { connections = 16, threads = 2, duration = seconds } = {}) {
  const child = spawn("wrk", [`-t${threads}`, `-c${connections}`, `-d${duration}s`, "--latency", "-s", path.join(root, "bench/authzen.lua"), target.base],
    { stdio: ["ignore", "pipe", "inherit"], env: { ...process.env, PEP_TOKEN: target.token, AUTHZEN_PATH: pathname, AUTHZEN_BODIES: bodies } });
  let out = "";
  child.stdout.on("data", (chunk) => { out += chunk; });
  const [code] = await once(child, "exit");
  if (code !== 0) throw new Error(`wrk exited with ${code}`);
  if (process.env.AUTHZEN_BENCH_DEBUG) console.log(target.name, pathname, out);
  const rps = Number(out.match(/Requests\/sec:\s+([\d.]+)/)[1]);
  const pct = (p) => {
    const m = out.match(new RegExp(`\\s${p}%\\s+([\\d.]+)(us|ms|s)`));
    return toMs(m[1], m[2]);
  };
  const failed = Number(out.match(/unexpected statuses: (\d+)/)[1]) + Number(out.match(/Non-2xx or 3xx responses: (\d+)/)?.[1] ?? 0);
  if (failed > 0) throw new Error(`${target.name} ${pathname}: ${failed} answers were not 200`);
  return { rps, p50: pct(50), p99: pct(99) };
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const load = new Map(targets.map((t) => [t.name, { single: [], batch: [] }]));
for (let r = 0; r < rounds; r += 1) {
  for (const t of targets) {
    load.get(t.name).single.push(await wrk(t, "/access/v1/evaluation", singleBodies));
    load.get(t.name).batch.push(await wrk(t, "/access/v1/evaluations", batchBodies));
  }
}
const summary = (runs) => ({ rps: median(runs.map((x) => x.rps)), p50: median(runs.map((x) => x.p50)), p99: median(runs.map((x) => x.p99)) });

// One request at a time: a Cerbos round trip, and `evaluation()` in this process.
const roundTrip = await wrk(targets[0], "/access/v1/evaluation", singleBodies, { connections: 1, threads: 1, duration: quick ? 1 : 3 });
const { Authorizer } = await import(path.join(root, "npm/portcullis/dist/node/index.mjs"));
const inProcess = Authorizer.fromBundle(bytes, [JSON.parse(readFileSync(trustedJwk, "utf8"))]);
const requests = singles.map((c) => c.request);
for (let i = 0; i < 20_000; i += 1) inProcess.evaluation(requests[i % requests.length]);
const perCall = [];
for (let r = 0; r < (quick ? 3 : 7); r += 1) {
  const n = 40_000;
  const t0 = performance.now();
  for (let i = 0; i < n; i += 1) inProcess.evaluation(requests[i % requests.length]);
  perCall.push(((performance.now() - t0) * 1e3) / n);
}
const evaluationUs = median(perCall);

await worker.dispose();
stop();

const fmt = (ms) => (ms < 1 ? `${(ms * 1000).toFixed(0)} µs` : `${ms.toFixed(2)} ms`);
const rows = targets.map((t) => {
  const s = summary(load.get(t.name).single);
  const b = summary(load.get(t.name).batch);
  return { name: t.name, s, b };
});
const cerbosRow = rows[0];
const table = rows.map(({ name, s, b }) => `| ${name} | ${Math.round(s.rps).toLocaleString("en")} | ${fmt(s.p50)} | ${fmt(s.p99)} | ${Math.round(b.rps * 100).toLocaleString("en")} | ${fmt(b.p50)} | ${fmt(b.p99)} |`).join("\n");
const serveRow = rows[1];
const targetRows = [
  ["`portcullis serve` single evaluations per second ÷ Cerbos's", "≥ 2×", serveRow.s.rps / cerbosRow.s.rps],
  ["`portcullis serve` decisions per second in 100-item batches ÷ Cerbos's", "≥ 5×", serveRow.b.rps / cerbosRow.b.rps],
  ["`portcullis serve` p99, single evaluations, Cerbos's ÷ ours", "≥ 1× (no worse)", cerbosRow.s.p99 / serveRow.s.p99],
  ["`portcullis serve` p99, 100-item batches, Cerbos's ÷ ours", "≥ 1× (no worse)", cerbosRow.b.p99 / serveRow.b.p99],
  [`npm \`evaluation()\` in process (${evaluationUs.toFixed(2)} µs) vs a Cerbos HTTP round trip (p50 ${fmt(roundTrip.p50)}, one connection)`, "≥ 100×", (roundTrip.p50 * 1000) / evaluationUs],
];
for (const [label, wanted, ratio] of targetRows) console.log(`${label}: ${ratio.toFixed(2)}× (wanted ${wanted})`);
console.log(table);

const section = `<!-- authzen:begin -->
## AuthZEN side by side with Cerbos (\`bench/authzen.mjs\`)

${quick ? "**Quick run** (one short round): figures are indicative only.\n\n" : ""}The working group's Todo scenario (draft 02: ${singles.length} evaluations, ${batches.length} batches)
answered by Cerbos PDP 0.55 (\`cerbos server\`, disk store, the policy in its own YAML:
\`bench/cerbos/todo/\`) and by Portcullis on its three surfaces (\`examples/authzen-todo.json\`),
all on 127.0.0.1 of this 2-core machine, which wrk shares. Decisions first: ${compared} requests
(${singles.length} evaluations and ${batches.length + loadBatches.length} batches) to each of the ${targets.length} PDPs, ${differing} differing
and ${wrong} unexpected. Then \`wrk -t2 -c16\` for ${seconds} s a run on each in turn, ${rounds} round${rounds > 1 ? "s" : ""} (medians): single
evaluations (the ${singles.length} requests in turn) and batches of 100 items (whole items, no
defaults); Portcullis's PDPs check the PEP's service token on every call, Cerbos has none to
check; each of ours writes a JSON log line per call.

| PDP | single evaluations / s | p50 | p99 | decisions / s in 100-item batches | p50 | p99 |
|---|---|---|---|---|---|---|
${table}

| target | wanted | measured |
|---|---|---|
${targetRows.map(([l, w, r]) => `| ${l} | ${w} | ${r.toFixed(2)}× |`).join("\n")}
<!-- authzen:end -->`;
const doc = readFileSync(outFile, "utf8");
const start = doc.indexOf("<!-- authzen:begin -->");
const end = doc.indexOf("<!-- authzen:end -->");
const next = start >= 0 && end > start
  ? doc.slice(0, start) + section + doc.slice(end + "<!-- authzen:end -->".length)
  : doc.replace("<!-- load:begin -->", `${section}\n\n<!-- load:begin -->`);
writeFileSync(outFile, next);
rmSync(dir, { recursive: true, force: true });
console.log(`wrote the AuthZEN section of ${path.relative(root, outFile)}`);
process.exit(0);
