// The gateway and the pass-through Worker in workerd through Miniflare, without `wrangler dev`
// and its proxy, for scripts/load:
//
//   node tests/load/workerd.mjs GATEWAY_PORT PASSTHROUGH_PORT QUIET_GATEWAY_PORT IMITATION_PORT SILENT_IMITATION_PORT ORIGIN BUNDLE_DIR LOG_FILE
//
// All listen on 127.0.0.1 and forward to ORIGIN. The gateway runs twice: with the default
// decision log (a line per decision) and with `DECISION_LOG=denied` (the quiet one). Both get
// the bundles of BUNDLE_DIR (`<org>.bundle`) in their KV namespace and the demo bundle keys;
// IMITATION_PORT serves tests/load/imitation.js, the gateway's runtime work without a
// decision, and SILENT_IMITATION_PORT the same without its log line; their console output goes
// to LOG_FILE, as a log collector would take it. Prints `ready` once all answer, and runs until it
// is stopped.
import { createWriteStream, readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { Miniflare } from "miniflare";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
/** The Worker's compatibility date, as wrangler.toml sets it for `wrangler dev` and deploys. */
const compatibilityDate = readFileSync(path.join(root, "wrangler.toml"), "utf8").match(/^compatibility_date = "([0-9-]+)"$/m)[1];
const [gatewayPort, passthroughPort, quietPort, imitationPort, silentPort, origin, bundleDir, logFile] = process.argv.slice(2);
const log = createWriteStream(logFile);
const trusted = readFileSync(path.join(root, "examples/keys/bundle-signing.public.jwk"), "utf8");
const stdio = (stdout, stderr) => {
  stdout.pipe(log);
  stderr.pipe(log);
};

const gatewayAt = (port, extra = {}) => new Miniflare({
  host: "127.0.0.1",
  port: Number(port),
  modules: true,
  scriptPath: path.join(root, "crates/gateway/build/index.js"),
  modulesRules: [{ type: "CompiledWasm", include: ["**/*.wasm"], fallthrough: true }],
  compatibilityDate,
  kvNamespaces: { BUNDLES: "bundles" },
  bindings: { ORIGIN: origin, BUNDLE_KEYS: JSON.stringify({ keys: [JSON.parse(trusted)] }), BUNDLE_REFRESH_SECONDS: "30", ...extra },
  handleRuntimeStdio: stdio,
});
const gateway = gatewayAt(gatewayPort);
const quiet = gatewayAt(quietPort, { DECISION_LOG: "denied" });
const plainWorker = (port, script, extra = {}) => new Miniflare({
  host: "127.0.0.1",
  port: Number(port),
  modules: true,
  scriptPath: path.join(root, "tests/load", script),
  compatibilityDate,
  bindings: { ORIGIN: origin, ...extra },
  handleRuntimeStdio: stdio,
});
const passthrough = plainWorker(passthroughPort, "passthrough.js");
const imitation = plainWorker(imitationPort, "imitation.js");
const silent = plainWorker(silentPort, "imitation.js", { LOG_LINE: "none" });
await Promise.all([gateway.ready, quiet.ready, passthrough.ready, imitation.ready, silent.ready]);
for (const mf of [gateway, quiet]) {
  const kv = await mf.getKVNamespace("BUNDLES");
  for (const f of readdirSync(bundleDir).filter((f) => f.endsWith(".bundle"))) {
    const bytes = readFileSync(path.join(bundleDir, f));
    await kv.put(`bundle:${f.replace(/\.bundle$/, "")}`, bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
  }
}
console.log("ready");
const stop = async () => {
  await Promise.allSettled([gateway.dispose(), quiet.dispose(), passthrough.dispose(), imitation.dispose(), silent.dispose()]);
  process.exit(0);
};
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
