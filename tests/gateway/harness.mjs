// Test harness: the built Worker in workerd (through Miniflare), a recording origin on
// 127.0.0.1, bundles built by the CLI, and tokens minted with jose.
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { readFileSync, mkdtempSync } from "node:fs";
import http from "node:http";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { Miniflare } from "miniflare";
import { SignJWT, importJWK } from "jose";

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const cli = path.join(root, "target/debug/portcullis");
const keys = path.join(root, "examples/keys");

/** Builds one bundle per organization of a policy; returns Map<org, Uint8Array>. */
export function buildBundles(policy, version, { ttl = 3600, edit } = {}) {
  const dir = mkdtempSync(path.join(tmpdir(), "portcullis-bundles-"));
  let policyPath = path.join(root, policy);
  if (edit) {
    const source = JSON.parse(readFileSync(policyPath, "utf8"));
    edit(source);
    policyPath = path.join(dir, "policy.json");
    execFileSync("tee", [policyPath], { input: JSON.stringify(source), stdio: ["pipe", "ignore", "inherit"] });
  }
  const out = execFileSync(cli, ["--json", "bundle", "build", policyPath, "--key", path.join(keys, "bundle-signing.private.jwk"),
    "--out", dir, "--bundle-version", String(version), "--ttl", String(ttl)]);
  const bundles = new Map();
  for (const b of JSON.parse(out)) bundles.set(b.org, new Uint8Array(readFileSync(b.file)));
  return bundles;
}

const idpJwk = JSON.parse(readFileSync(path.join(keys, "idp.private.jwk"), "utf8"));
const idpKey = await importJWK(idpJwk, "EdDSA");
const typ = { orgauth: "orgauth+jwt", envauth: "envauth+jwt", service: "at+jwt" };
let jtiCounter = 0;

/** Mints a token with jose, signed by the demo identity provider. */
export async function mint({ kind = "envauth", sub, org = "client-a", env, clientId, scope, jti, ttl = 600, age = 5,
  iss = "https://idp.integrations.example", aud = "https://api.integrations.example", header = {} }) {
  const claims = { org };
  if (env) claims.env = env;
  if (clientId) claims.client_id = clientId;
  if (scope) claims.scope = scope;
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT(claims)
    .setProtectedHeader({ alg: "EdDSA", typ: typ[kind], kid: idpJwk.kid, ...header })
    .setIssuer(iss).setAudience(aud).setSubject(sub)
    .setIssuedAt(now - age).setExpirationTime(now + ttl).setJti(jti ?? `t-${++jtiCounter}`)
    .sign(idpKey);
}

/**
 * An HTTP origin on 127.0.0.1 that records what reaches it and echoes the bundle version the
 * gateway forwarded; `options.delayMs` (changeable later) delays every answer.
 */
export async function startOrigin(options = {}) {
  const seen = [];
  const server = http.createServer((req, res) => {
    const hash = createHash("sha256");
    let bytes = 0;
    req.on("data", (chunk) => { hash.update(chunk); bytes += chunk.length; });
    req.on("end", () => {
      seen.push({ method: req.method, url: req.url, headers: req.headers, bytes, sha256: hash.digest("hex") });
      const answer = () => {
        if (res.destroyed) return;
        res.writeHead(200, { "content-type": "application/json" });
        res.end(JSON.stringify({ origin: "ok", bytes, bundle_version: req.headers["x-portcullis-bundle-version"] }));
      };
      if (options.delayMs) setTimeout(answer, options.delayMs).unref();
      else answer();
    });
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address();
  return {
    url: `http://127.0.0.1:${port}`, seen, options,
    close: () => new Promise((r) => { server.closeAllConnections(); server.close(r); }),
  };
}

const trustedKeys = JSON.stringify({ keys: [JSON.parse(readFileSync(path.join(keys, "bundle-signing.public.jwk"), "utf8"))] });

/**
 * A KV binding for fault tests: the real namespace behind a wrapper whose reads fail or stall
 * on demand (`faults.failing`, `faults.delayMs`), as a KV outage or a slow read would.
 */
const faultyKvScript = `
class FaultyKv {
  constructor(env) { this.store = env.STORE; this.control = env.CONTROL; }
  async fault() { return (await this.control.fetch("http://control/")).json(); }
  async get(key, options) {
    const { failing, delayMs } = await this.fault();
    if (delayMs) await new Promise((r) => setTimeout(r, delayMs));
    if (failing) throw new Error("KV read failed (injected)");
    return this.store.get(key, options);
  }
  async getWithMetadata(key, options) {
    const { failing } = await this.fault();
    if (failing) throw new Error("KV read failed (injected)");
    return this.store.getWithMetadata(key, options);
  }
  put(key, value, options) { return this.store.put(key, value, options); }
  list(options) { return this.store.list(options); }
  delete(key) { return this.store.delete(key); }
}
export default function (env) { return new FaultyKv(env); }
`;

/**
 * Starts the built Worker in workerd with a KV namespace and the given origin. With
 * `faultyKv`, the `BUNDLES` binding goes through a wrapper whose reads can be made to fail
 * (see `faults`).
 */
export async function startGateway({ origin, refreshSeconds = 1, trustedKeys: keysJson = trustedKeys,
  originTimeoutSeconds, faultyKv = false, decisionLog }) {
  const logs = [];
  let partial = "";
  const faults = { failing: false, delayMs: 0 };
  const bindings = { ORIGIN: origin, BUNDLE_KEYS: keysJson, BUNDLE_REFRESH_SECONDS: String(refreshSeconds) };
  if (originTimeoutSeconds !== undefined) bindings.ORIGIN_TIMEOUT_SECONDS = String(originTimeoutSeconds);
  if (decisionLog !== undefined) bindings.DECISION_LOG = decisionLog;
  const gateway = {
    name: "gateway",
    modules: true,
    scriptPath: path.join(root, "crates/gateway/build/index.js"),
    modulesRules: [{ type: "CompiledWasm", include: ["**/*.wasm"], fallthrough: true }],
    compatibilityDate: "2026-04-20",
    bindings,
  };
  const workers = [gateway];
  if (faultyKv) {
    gateway.wrappedBindings = { BUNDLES: "faulty-kv" };
    // The same namespace, bound directly, only so that the test can write to it.
    gateway.kvNamespaces = { BUNDLES_DIRECT: "bundles" };
    workers.push({
      name: "faulty-kv",
      modules: true,
      script: faultyKvScript,
      kvNamespaces: { STORE: "bundles" },
      serviceBindings: { CONTROL: () => Response.json(faults) },
    });
  } else {
    gateway.kvNamespaces = { BUNDLES: "bundles" };
  }
  const mf = new Miniflare({
    // The Worker's console output: one JSON line per decision, kept for assertions.
    handleRuntimeStdio(stdout, stderr) {
      stdout.on("data", (chunk) => {
        const lines = (partial + chunk.toString()).split("\n");
        partial = lines.pop();
        for (const line of lines) if (line.trim()) logs.push(line);
      });
      stderr.on("data", (chunk) => process.stderr.write(chunk));
    },
    workers,
  });
  await mf.ready;
  const kv = await mf.getKVNamespace(faultyKv ? "BUNDLES_DIRECT" : "BUNDLES", "gateway");
  return {
    mf,
    logs,
    faults,
    async put(org, bytes) { await kv.put(`bundle:${org}`, bytes); },
    async remove(org) { await kv.delete(`bundle:${org}`); },
    fetch: (p, init = {}) => mf.dispatchFetch(`http://api.integrations.example${p}`, init),
    /** Whether a log line matching `predicate` arrives within `ms` (lines follow their answers). */
    async logged(predicate, ms = 2000) {
      for (const deadline = Date.now() + ms; Date.now() < deadline; await new Promise((r) => setTimeout(r, 20))) {
        if (logs.some(predicate)) return true;
      }
      return logs.some(predicate);
    },
    close: () => mf.dispose(),
  };
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
