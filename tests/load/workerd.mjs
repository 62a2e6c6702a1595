// The gateway and the pass-through Worker in workerd through Miniflare, without `wrangler dev`
// and its proxy, for scripts/load:
//
//   node tests/load/workerd.mjs GATEWAY_PORT PASSTHROUGH_PORT ORIGIN BUNDLE_DIR LOG_FILE
//
// Both listen on 127.0.0.1 and forward to ORIGIN. The gateway gets the bundles of BUNDLE_DIR
// (`<org>.bundle`) in its KV namespace and the demo bundle keys; its console output (one JSON
// line per decision) goes to LOG_FILE, as a log collector would take it. Prints `ready` once
// both answer, and runs until it is stopped.
import { createWriteStream, readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { Miniflare } from "miniflare";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const [gatewayPort, passthroughPort, origin, bundleDir, logFile] = process.argv.slice(2);
const log = createWriteStream(logFile);
const trusted = readFileSync(path.join(root, "examples/keys/bundle-signing.public.jwk"), "utf8");
const stdio = (stdout, stderr) => {
  stdout.pipe(log);
  stderr.pipe(log);
};

const gateway = new Miniflare({
  host: "127.0.0.1",
  port: Number(gatewayPort),
  modules: true,
  scriptPath: path.join(root, "crates/gateway/build/index.js"),
  modulesRules: [{ type: "CompiledWasm", include: ["**/*.wasm"], fallthrough: true }],
  compatibilityDate: "2026-04-20",
  kvNamespaces: { BUNDLES: "bundles" },
  bindings: { ORIGIN: origin, BUNDLE_KEYS: JSON.stringify({ keys: [JSON.parse(trusted)] }), BUNDLE_REFRESH_SECONDS: "30" },
  handleRuntimeStdio: stdio,
  ...(process.env.PORTCULLIS_INSPECTOR_PORT ? { inspectorPort: Number(process.env.PORTCULLIS_INSPECTOR_PORT) } : {}),
});
const passthrough = new Miniflare({
  host: "127.0.0.1",
  port: Number(passthroughPort),
  modules: true,
  scriptPath: path.join(root, "tests/load/passthrough.js"),
  compatibilityDate: "2026-04-20",
  bindings: { ORIGIN: origin },
  handleRuntimeStdio: stdio,
});
await Promise.all([gateway.ready, passthrough.ready]);
const kv = await gateway.getKVNamespace("BUNDLES");
for (const f of readdirSync(bundleDir).filter((f) => f.endsWith(".bundle"))) {
  const bytes = readFileSync(path.join(bundleDir, f));
  await kv.put(`bundle:${f.replace(/\.bundle$/, "")}`, bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
}
console.log("ready");
const stop = async () => {
  await Promise.allSettled([gateway.dispose(), passthrough.dispose()]);
  process.exit(0);
};
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
