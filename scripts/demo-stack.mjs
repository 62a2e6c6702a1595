// Runs the Portcullis gateway and control plane locally in workerd (through Miniflare): the
// gateway on 127.0.0.1:8787 in front of the demo origin, the control plane on 127.0.0.1:8789,
// sharing the bundles' KV namespace, the control plane's D1 database (migrated beforehand by
// `wrangler d1 migrations apply`) and the activity Queue; state persisted under the directory
// given. Then seeds the control plane by importing the example policies (the operator's
// import), prints `ready` and runs until interrupted.
//
// Usage: node scripts/demo-stack.mjs <state dir> <origin URL> <operator secret>
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { Miniflare } from "miniflare";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const [state, origin, operatorSecret] = process.argv.slice(2);
if (!state || !origin || !operatorSecret) {
  console.error("usage: node scripts/demo-stack.mjs <state dir> <origin URL> <operator secret>");
  process.exit(2);
}
const read = (p) => readFileSync(path.join(root, p), "utf8");
const gatewayToml = read("wrangler.toml");
const controlToml = read("crates/control/wrangler.toml");
const setting = (toml, name) => toml.match(new RegExp(`^${name} = ['"](.*)['"]$`, "m"))?.[1];
const wasmRules = [{ type: "CompiledWasm", include: ["**/*.wasm"], fallthrough: true }];

const mf = new Miniflare({
  kvPersist: path.join(state, "v3/kv"),
  d1Persist: path.join(state, "v3/d1"),
  workers: [
    {
      name: "gateway",
      modules: true,
      scriptPath: path.join(root, "crates/gateway/build/index.js"),
      modulesRules: wasmRules,
      compatibilityDate: setting(gatewayToml, "compatibility_date"),
      kvNamespaces: { BUNDLES: setting(gatewayToml, "id") },
      queueProducers: { ACTIVITY: "portcullis-activity" },
      unsafeDirectSockets: [{ host: "127.0.0.1", port: 8787 }],
      bindings: {
        ORIGIN: origin,
        BUNDLE_KEYS: setting(gatewayToml, "BUNDLE_KEYS"),
        // Two seconds, so that the walkthrough sees a change quickly (30 in wrangler.toml).
        BUNDLE_REFRESH_SECONDS: "2",
      },
    },
    {
      name: "control",
      modules: true,
      modulesRoot: path.join(root, "crates/control/build"),
      scriptPath: path.join(root, "crates/control/build/index.js"),
      modulesRules: wasmRules,
      compatibilityDate: setting(controlToml, "compatibility_date"),
      kvNamespaces: { BUNDLES: setting(controlToml, "id") },
      d1Databases: { DB: setting(controlToml, "database_id") },
      queueConsumers: { "portcullis-activity": { maxBatchSize: 100, maxBatchTimeout: 1 } },
      unsafeDirectSockets: [{ host: "127.0.0.1", port: 8789 }],
      bindings: {
        BUNDLE_SIGNING_KEY: read("examples/keys/bundle-signing.private.jwk"),
        OPERATOR_SECRET: operatorSecret,
        BUNDLE_TTL_SECONDS: setting(controlToml, "BUNDLE_TTL_SECONDS"),
        // The admin page, served by scripts/serve-www.mjs on 127.0.0.1:8790.
        ADMIN_ORIGINS: "http://127.0.0.1:8790",
      },
    },
  ],
});
await mf.ready;

// Seed the control plane: the operator imports each organization of the example policies.
for (const [file, orgs] of [["examples/integration-platform.json", ["client-a", "client-b"]], ["examples/access-levels.json", ["northwind"]]]) {
  for (const org of orgs) {
    const res = await fetch(`http://127.0.0.1:8789/orgs/${org}/iam/import`, {
      method: "PUT", headers: { authorization: `Bearer ${operatorSecret}` }, body: read(file),
    });
    const body = await res.json();
    if (res.status !== 200) {
      console.error(`import of ${org} failed: ${res.status} ${JSON.stringify(body)}`);
      await mf.dispose();
      process.exit(1);
    }
    console.log(`imported ${org} from ${file}: bundle version ${body.version} in KV as bundle:${org}`);
  }
}
console.log("ready");

const stop = async () => {
  await mf.dispose();
  process.exit(0);
};
process.on("SIGINT", stop);
process.on("SIGTERM", stop);
