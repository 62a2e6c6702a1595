// Test harness: the control plane Worker and the gateway Worker in one workerd (through
// Miniflare), sharing the gateway's KV namespace; D1 migrated by wrangler from
// crates/control/migrations; tokens minted with jose by the demo identity provider.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { Miniflare } from "miniflare";
import { SignJWT, importJWK } from "jose";
import { root, startOrigin } from "../gateway/harness.mjs";

export { root };
const wranglerToml = path.join(root, "crates/control/wrangler.toml");
const compatibilityDate = readFileSync(wranglerToml, "utf8").match(/^compatibility_date = "([0-9-]+)"$/m)[1];
const databaseId = readFileSync(wranglerToml, "utf8").match(/^database_id = "([^"]+)"$/m)[1];
const keys = path.join(root, "examples/keys");
const cli = path.join(root, "target/debug/portcullis");

/** The operator secret the test control plane is given. */
export const OPERATOR_SECRET = "operator-secret-for-control-tests";

const idpJwk = JSON.parse(readFileSync(path.join(keys, "idp.private.jwk"), "utf8"));
const idpKey = await importJWK(idpJwk, "EdDSA");
const typ = { orgauth: "orgauth+jwt", envauth: "envauth+jwt", service: "at+jwt" };
let jtiCounter = 0;

/** Mints a token of the access-levels example's identity provider (OrgAuth by default). */
export async function mint({ kind = "orgauth", sub, org = "northwind", env, jti, ttl = 600, age = 5,
  iss = "https://idp.accesslevels.example", aud = "https://api.accesslevels.example" }) {
  const claims = { org };
  if (env) claims.env = env;
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT(claims)
    .setProtectedHeader({ alg: "EdDSA", typ: typ[kind], kid: idpJwk.kid })
    .setIssuer(iss).setAudience(aud).setSubject(sub)
    .setIssuedAt(now - age).setExpirationTime(now + ttl).setJti(jti ?? `c-${++jtiCounter}`)
    .sign(idpKey);
}

/** A KV wrapper whose writes fail on demand: `faults.failPuts` writes fail, then they pass. */
const faultyKvScript = `
class FaultyKv {
  constructor(env) { this.store = env.STORE; this.control = env.CONTROL; }
  async put(key, value, options) {
    const { fail } = await (await this.control.fetch("http://control/put")).json();
    if (fail) throw new Error("KV write failed (injected)");
    return this.store.put(key, value, options);
  }
  get(key, options) { return this.store.get(key, options); }
  getWithMetadata(key, options) { return this.store.getWithMetadata(key, options); }
  list(options) { return this.store.list(options); }
  delete(key) { return this.store.delete(key); }
}
export default function (env) { return new FaultyKv(env); }
`;

/**
 * Starts the control plane (D1 migrated from the migration files, a fresh database each time)
 * and the gateway reading the same KV namespace every `refreshSeconds`.
 */
export async function startControlPlane({ refreshSeconds = 1, faultyKv = true, settings = {} } = {}) {
  const origin = await startOrigin();
  const persist = mkdtempSync(path.join(tmpdir(), "portcullis-control-"));
  execFileSync("npx", ["wrangler", "d1", "migrations", "apply", "DB", "--local", "--persist-to", persist, "-c", wranglerToml],
    { cwd: root, stdio: ["ignore", "ignore", "inherit"], env: { ...process.env, WRANGLER_SEND_METRICS: "false", CI: "1" } });
  const faults = { failPuts: 0, puts: 0 };
  const logs = [];
  const control = {
    name: "control",
    modules: true,
    modulesRoot: path.join(root, "crates/control/build"),
    scriptPath: path.join(root, "crates/control/build/index.js"),
    modulesRules: [{ type: "CompiledWasm", include: ["**/*.wasm"], fallthrough: true }],
    compatibilityDate,
    routes: ["control.accesslevels.example/*"],
    d1Databases: { DB: databaseId },
    ...(faultyKv
      ? { wrappedBindings: { BUNDLES: "faulty-kv" }, kvNamespaces: { BUNDLES_DIRECT: "bundles" } }
      : { kvNamespaces: { BUNDLES: "bundles", BUNDLES_DIRECT: "bundles" } }),
    queueConsumers: { "portcullis-activity": { maxBatchSize: 100, maxBatchTimeout: 1 } },
    bindings: {
      BUNDLE_SIGNING_KEY: readFileSync(path.join(keys, "bundle-signing.private.jwk"), "utf8"),
      OPERATOR_SECRET,
      BUNDLE_TTL_SECONDS: "3600",
      ...settings,
    },
  };
  const faultyKvWorker = {
    name: "faulty-kv",
    modules: true,
    script: faultyKvScript,
    kvNamespaces: { STORE: "bundles" },
    serviceBindings: {
      CONTROL: () => {
        faults.puts++;
        const fail = faults.failPuts > 0;
        if (fail) faults.failPuts--;
        return Response.json({ fail });
      },
    },
  };
  const gateway = {
    name: "gateway",
    modules: true,
    scriptPath: path.join(root, "crates/gateway/build/index.js"),
    modulesRules: [{ type: "CompiledWasm", include: ["**/*.wasm"], fallthrough: true }],
    compatibilityDate,
    kvNamespaces: { BUNDLES: "bundles" },
    queueProducers: { ACTIVITY: "portcullis-activity" },
    routes: ["api.accesslevels.example/*"],
    bindings: {
      ORIGIN: origin.url,
      BUNDLE_KEYS: JSON.stringify({ keys: [JSON.parse(readFileSync(path.join(keys, "bundle-signing.public.jwk"), "utf8"))] }),
      BUNDLE_REFRESH_SECONDS: String(refreshSeconds),
    },
  };
  const mf = new Miniflare({
    d1Persist: path.join(persist, "v3/d1"),
    handleRuntimeStdio(stdout, stderr) {
      stdout.on("data", (c) => logs.push(c.toString()));
      stderr.on("data", (c) => logs.push(c.toString()));
    },
    workers: faultyKv ? [control, faultyKvWorker, gateway] : [control, gateway],
  });
  // The entry socket: requests for no route's host reach the first Worker, the control plane.
  const url = (await mf.ready).href.replace(/\/$/, "");
  const db = await mf.getD1Database("DB", "control");
  const kv = await mf.getKVNamespace("BUNDLES_DIRECT", "control");
  const api = (p, init = {}) => mf.dispatchFetch(`http://control.accesslevels.example${p}`, init);
  return {
    mf, db, kv, faults, logs, origin, url,
    /** A call of the management API; resolves to { status, headers, body }. */
    async call(method, p, { token, body, raw, headers = {} } = {}) {
      const h = { ...headers };
      if (token) h.authorization = `Bearer ${token}`;
      if (body !== undefined) h["content-type"] = "application/json";
      const res = await api(p, { method, headers: h, body: raw ?? (body === undefined ? undefined : JSON.stringify(body)) });
      const text = await res.text();
      let parsed = text;
      try { parsed = JSON.parse(text); } catch { /* not JSON */ }
      return { status: res.status, headers: res.headers, body: parsed };
    },
    /** Imports a policy file's organization (or a policy source object) with the operator secret. */
    async importPolicy(org, file, edit) {
      const source = typeof file === "string" ? JSON.parse(readFileSync(path.join(root, file), "utf8")) : file;
      if (edit) edit(source);
      const res = await api(`/orgs/${org}/iam/import`, {
        method: "PUT", headers: { authorization: `Bearer ${OPERATOR_SECRET}` }, body: JSON.stringify(source),
      });
      const body = await res.json();
      if (res.status !== 200) throw new Error(`import of ${org} failed: ${res.status} ${JSON.stringify(body)}`);
      return body;
    },
    /** The version of the bundle KV holds for `org` (0 when none), read from its header. */
    async kvVersion(org) {
      const bytes = await kv.get(`bundle:${org}`, "arrayBuffer");
      if (!bytes) return 0;
      return Number(new DataView(bytes).getBigUint64(8, true));
    },
    /** The header and counts of the bundle KV holds for `org` (the CLI's `bundle inspect`). */
    async bundle(org) {
      const bytes = await kv.get(`bundle:${org}`, "arrayBuffer");
      if (!bytes) return null;
      const file = path.join(mkdtempSync(path.join(tmpdir(), "portcullis-kv-")), `${org}.bundle`);
      writeFileSync(file, Buffer.from(bytes));
      return JSON.parse(execFileSync(cli, ["--json", "bundle", "inspect", file]));
    },
    /** Rows of a query against the control plane's D1. */
    rows: async (sql, ...params) => (await db.prepare(sql).bind(...params).all()).results,
    /** A request to the gateway in front of the API. */
    gateway: (p, init = {}) => mf.dispatchFetch(`http://api.accesslevels.example${p}`, init),
    /** Runs the control plane's cron trigger once. */
    scheduled: async () => (await mf.getWorker("control")).scheduled({ cron: "* * * * *" }),
    close: async () => { await mf.dispose(); await origin.close(); },
  };
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
