// Test harness: the built Worker in workerd (through Miniflare), a recording origin on
// 127.0.0.1, bundles built by the CLI, and tokens minted with jose.
import { execFileSync, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, readFileSync, mkdtempSync, writeFileSync } from "node:fs";
import http from "node:http";
import net from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { Miniflare } from "miniflare";
import { SignJWT, importJWK } from "jose";

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
/** The Worker's compatibility date, as wrangler.toml sets it for `wrangler dev` and deploys. */
const compatibilityDate = readFileSync(path.join(root, "wrangler.toml"), "utf8").match(/^compatibility_date = "([0-9-]+)"$/m)[1];
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
  originTimeoutSeconds, faultyKv = false, decisionLog, healthSecret = HEALTH_SECRET, settings = {} }) {
  const logs = [];
  let partial = "";
  const faults = { failing: false, delayMs: 0 };
  const bindings = { ORIGIN: origin, BUNDLE_KEYS: keysJson, BUNDLE_REFRESH_SECONDS: String(refreshSeconds), ...settings };
  if (healthSecret !== undefined) bindings.HEALTH_SECRET = healthSecret;
  if (originTimeoutSeconds !== undefined) bindings.ORIGIN_TIMEOUT_SECONDS = String(originTimeoutSeconds);
  if (decisionLog !== undefined) bindings.DECISION_LOG = decisionLog;
  const gateway = {
    name: "gateway",
    modules: true,
    scriptPath: path.join(root, "crates/gateway/build/index.js"),
    modulesRules: [{ type: "CompiledWasm", include: ["**/*.wasm"], fallthrough: true }],
    compatibilityDate,
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
  const entry = await mf.ready;
  const kv = await mf.getKVNamespace(faultyKv ? "BUNDLES_DIRECT" : "BUNDLES", "gateway");
  return {
    mf,
    logs,
    faults,
    async put(org, bytes) { await kv.put(`bundle:${org}`, bytes); },
    async remove(org) { await kv.delete(`bundle:${org}`); },
    fetch: (p, init = {}) => mf.dispatchFetch(`http://api.integrations.example${p}`, init),
    /** Health as the operator sees it (per organization). */
    health: async () => (await mf.dispatchFetch("http://api.integrations.example/_portcullis/health",
      { headers: { authorization: `Bearer ${HEALTH_SECRET}` } })).json(),
    /**
     * A request over a real socket, as a client sends it: the request target and the headers
     * exactly as given (no URL normalization, any header name, `Connection` included).
     */
    raw: (target, options = {}) => rawRequest(entry, target, options),
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

/** The operator secret the test gateways are given (`HEALTH_SECRET`). */
export const HEALTH_SECRET = "operator-secret-for-tests";

/**
 * Sends one HTTP/1.1 request to `base` with the request target and headers exactly as given;
 * resolves to `{ status, headers, body }` (the body parsed as JSON when it is).
 */
export function rawRequest(base, target, { method = "GET", headers = {}, body } = {}) {
  const url = new URL(base);
  return new Promise((resolve, reject) => {
    const req = http.request({
      host: url.hostname, port: url.port, method, path: target, agent: false,
      headers: { host: "api.integrations.example", ...headers },
    }, (res) => {
      const chunks = [];
      res.on("data", (c) => chunks.push(c));
      res.on("end", () => {
        const text = Buffer.concat(chunks).toString("utf8");
        let parsed = text;
        try { parsed = JSON.parse(text); } catch { /* not JSON */ }
        resolve({ status: res.statusCode, headers: res.headers, body: parsed });
      });
    });
    req.on("error", reject);
    req.setTimeout(10_000, () => req.destroy(new Error(`no answer to ${method} ${target}`)));
    if (body !== undefined) req.write(body);
    req.end();
  });
}

/** Waits until something accepts connections on 127.0.0.1:`port` (at most `ms`). */
async function listening(port, ms = 10_000) {
  for (const deadline = Date.now() + ms; Date.now() < deadline; await sleep(50)) {
    const up = await new Promise((resolve) => {
      const socket = net.connect(port, "127.0.0.1", () => { socket.end(); resolve(true); });
      socket.on("error", () => resolve(false));
    });
    if (up) return;
  }
  throw new Error(`nothing listens on 127.0.0.1:${port}`);
}

/** A port free on 127.0.0.1 a moment ago. */
async function freePort() {
  const server = net.createServer();
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/**
 * The Flask origin of `tests/gateway/origin/app.py` under `server` (`wsgiref` or `werkzeug`),
 * on 127.0.0.1. `seen()` answers what arrived and what ran since the last call.
 */
export async function startFlaskOrigin(server) {
  const child = spawn("python3", [path.join(root, "tests/gateway/origin/app.py"), server],
    { stdio: ["ignore", "pipe", "inherit"] });
  const port = await new Promise((resolve, reject) => {
    let out = "";
    child.stdout.on("data", (chunk) => {
      out += chunk;
      const m = /PORT (\d+)/.exec(out);
      if (m) resolve(Number(m[1]));
    });
    child.on("exit", (code) => reject(new Error(`the ${server} origin exited (${code})`)));
  });
  const url = `http://127.0.0.1:${port}`;
  return {
    url,
    seen: async () => (await fetch(`${url}/__seen`)).json(),
    close: () => new Promise((resolve) => { child.once("exit", resolve); child.kill(); }),
  };
}

/**
 * nginx from Debian's packages on 127.0.0.1, proxying everything to `upstream` with a URI part
 * in `proxy_pass` (`proxy_pass http://upstream/;`): nginx then decodes and normalizes the path
 * (`%2F`, `..`, `//`) before it forwards it, as such deployments do.
 */
export async function startNginx(upstream) {
  const dir = mkdtempSync(path.join(tmpdir(), "portcullis-nginx-"));
  const port = await freePort();
  const conf = path.join(dir, "nginx.conf");
  const user = process.getuid?.() === 0 ? "user root root;" : "";
  writeFileSync(conf, `${user}
worker_processes 1;
daemon off;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 256; }
http {
  access_log off;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  server {
    listen 127.0.0.1:${port};
    location / {
      proxy_pass ${upstream}/;
      proxy_set_header Host $host;
    }
  }
}
`);
  const nginx = existsSync("/usr/sbin/nginx") ? "/usr/sbin/nginx" : "nginx";
  const child = spawn(nginx, ["-c", conf, "-p", dir, "-e", `${dir}/error.log`], { stdio: ["ignore", "inherit", "inherit"] });
  await listening(port);
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise((resolve) => { child.once("exit", resolve); child.kill("SIGQUIT"); }),
  };
}
