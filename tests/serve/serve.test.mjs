// `portcullis serve`, the AuthZEN PDP over HTTP: started from the CLI on 127.0.0.1 with
// bundles built from the example policies, asked over real HTTP. The working group's Todo
// decision files are scored as its runner scores them; the PEP's credential, bad input,
// reloading and shutdown are checked on the running server.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, readdirSync, writeFileSync, renameSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { once } from "node:events";
import readline from "node:readline";
import { TODO_FILES, scoreTodoFile } from "../authzen/score.mjs";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const cli = path.join(root, "target/debug/portcullis");
const keys = path.join(root, "examples/keys");

let dir;
let server;
let base;
const logLines = [];

/** Builds the bundles of a policy (edited by `edit`) into `out` with `version`. */
function build(policy, out, version, edit) {
  let policyPath = path.join(root, policy);
  if (edit) {
    const source = JSON.parse(readFileSync(policyPath, "utf8"));
    edit(source);
    policyPath = path.join(dir, `edited-${version}.json`);
    writeFileSync(policyPath, JSON.stringify(source));
  }
  const built = JSON.parse(execFileSync(cli, ["--json", "bundle", "build", policyPath, "--key",
    path.join(keys, "bundle-signing.private.jwk"), "--out", out, "--bundle-version", String(version)]));
  return built.map((b) => b.file);
}

/** A token minted by the demo identity provider. */
function mint({ kind = "service", sub, org, aud, clientId, env }) {
  const args = ["token", "mint", "--key", path.join(keys, "idp.private.jwk"), "--kind", kind,
    "--iss", "https://idp.integrations.example", "--aud", aud, "--sub", sub, "--org", org, "--ttl", "3600"];
  if (clientId) args.push("--client-id", clientId);
  if (env) args.push("--env", env);
  return execFileSync(cli, args, { encoding: "utf8" }).trim();
}

const todoAud = "https://pdp.citadel.example";
let pep;

async function post(pathname, body, { token = pep, type = "application/json", headers = {} } = {}) {
  const response = await fetch(base + pathname, {
    method: "POST",
    headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(type ? { "content-type": type } : {}), ...headers },
    body: typeof body === "string" || body instanceof Uint8Array ? body : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, headers: response.headers, body: text ? JSON.parse(text) : null };
}

before(async () => {
  dir = mkdtempSync(path.join(tmpdir(), "portcullis-serve-"));
  const bundles = path.join(dir, "bundles");
  execFileSync("mkdir", ["-p", bundles]);
  build("examples/authzen-todo.json", bundles, 1);
  build("examples/authzen-search.json", bundles, 1);
  pep = mint({ sub: "todo-backend", org: "citadel", aud: todoAud, clientId: "todo-backend" });
  server = spawn(cli, ["serve", "--bundles", bundles, "--trust", path.join(keys, "bundle-signing.public.jwk"),
    "--listen", "127.0.0.1:0", "--poll-ms", "100"], { stdio: ["ignore", "pipe", "inherit"] });
  const lines = readline.createInterface({ input: server.stdout });
  const listening = new Promise((resolve) => {
    lines.on("line", (line) => {
      logLines.push(line);
      const event = JSON.parse(line);
      if (event.event === "listening") resolve(event);
    });
  });
  const event = await listening;
  assert.deepEqual([...event.organizations].sort(), ["citadel", "records-inc"]);
  base = `http://${event.address}`;
});

after(async () => {
  if (server && server.exitCode === null) server.kill("SIGKILL");
  rmSync(dir, { recursive: true, force: true });
});

test("every Todo decision file passes over HTTP, scored as the working group's runner scores it", async () => {
  const counts = [];
  for (const [file, expected] of TODO_FILES) {
    const { passed, total } = await scoreTodoFile(file, async (request) => {
      const r = await post("/access/v1/evaluation", request);
      assert.equal(r.status, 200, JSON.stringify(r.body));
      return r.body;
    }, async (request) => {
      const r = await post("/access/v1/evaluations", request);
      assert.equal(r.status, 200);
      return r.body;
    });
    counts.push(`${file}: ${passed}/${total}`);
    assert.equal(total, expected, file);
    assert.equal(passed, total, file);
  }
  console.log(counts.join("; "));
});

test("the tenant path, the well-known metadata and the request id", async () => {
  const request = { subject: { type: "user", id: "rick" }, action: { name: "can_read_todos" }, resource: { type: "todo", id: "t" } };
  const r = await post("/tenants/citadel/access/v1/evaluation", request, { headers: { "x-request-id": "req-42" } });
  assert.equal(r.status, 200);
  assert.deepEqual(r.body, { decision: true });
  assert.equal(r.headers.get("x-request-id"), "req-42");
  // A token of one organization on another's path is a bad credential, like an unknown tenant.
  for (const tenant of ["records-inc", "nobody"]) {
    const other = await post(`/tenants/${tenant}/access/v1/evaluation`, request);
    assert.equal(other.status, 401);
    assert.equal(other.headers.get("www-authenticate"), 'Bearer error="invalid_token"');
  }
  const meta = await (await fetch(`${base}/.well-known/authzen-configuration`)).json();
  assert.equal(meta.access_evaluation_endpoint, `${base}/access/v1/evaluation`);
  assert.equal(meta.search_action_endpoint, `${base}/access/v1/search/action`);
  const tenantMeta = await (await fetch(`${base}/.well-known/authzen-configuration/citadel`)).json();
  assert.equal(tenantMeta.access_evaluations_endpoint, `${base}/tenants/citadel/access/v1/evaluations`);
  const health = await fetch(`${base}/health`);
  assert.equal(health.status, 200);
  assert.deepEqual(await health.json(), { status: "ok", organizations: 2 });
});

test("the PEP's credential: a service token of the organization whose client may ask", async () => {
  const request = { subject: { type: "user", id: "rick" }, action: { name: "can_read_todos" }, resource: { type: "todo", id: "t" } };
  const unauthorized = [
    null,
    "not-a-token",
    // A user's token, not a service's.
    mint({ kind: "orgauth", sub: "rick", org: "citadel", aud: todoAud }),
    // Another audience.
    mint({ sub: "todo-backend", org: "citadel", aud: "https://elsewhere.example", clientId: "todo-backend" }),
    // An organization the server does not have.
    mint({ sub: "todo-backend", org: "umbrella", aud: todoAud, clientId: "todo-backend" }),
  ];
  for (const token of unauthorized) {
    const r = await post("/access/v1/evaluation", request, { token });
    assert.equal(r.status, 401, String(token));
    assert.equal(r.body.error, "invalid_token");
    assert.equal(r.headers.get("www-authenticate"), 'Bearer error="invalid_token"');
  }
  // A service of the organization whose client holds no pdp permission.
  const reporting = mint({ sub: "reporting", org: "citadel", aud: todoAud, clientId: "reporting" });
  const r = await post("/access/v1/evaluation", request, { token: reporting });
  assert.equal(r.status, 403);
  assert.equal(r.body.error, "insufficient_scope");
  assert.equal(r.headers.get("www-authenticate"), 'Bearer error="insufficient_scope"');
  // The search scenario's organization, with its own PEP.
  const records = mint({ sub: "records-api", org: "records-inc", aud: "https://pdp.records.example", clientId: "records-api" });
  const found = await post("/access/v1/search/resource", {
    subject: { type: "user", id: "felix" }, action: { name: "edit" }, resource: { type: "record" },
  }, { token: records });
  assert.equal(found.status, 200);
  assert.deepEqual(found.body.results.map((x) => x.id), ["106", "112", "118"]);
  const page = await post("/access/v1/search/subject", {
    subject: { type: "user" }, action: { name: "view" }, resource: { type: "record", id: "101" }, page: { limit: 3 },
  }, { token: records });
  assert.deepEqual(page.body.results.map((x) => x.id), ["alice", "bob", "carol"]);
  const next = await post("/access/v1/search/subject", {
    subject: { type: "user" }, action: { name: "view" }, resource: { type: "record", id: "101" }, page: { limit: 3, token: page.body.page.next_token },
  }, { token: records });
  assert.deepEqual(next.body, { results: [{ type: "user", id: "dan" }], page: { next_token: "", count: 1, total: 4 } });
});

test("bad input: 400 with a code, 413 for an oversized body, never a 5xx", async () => {
  const cases = [
    ["", "empty_body", 400],
    ["{", "invalid_json", 400],
    ["[]", "invalid_field", 400],
    [`${"[".repeat(100)}${"]".repeat(100)}`, "invalid_json", 400],
    ['{"subject":{"type":"user","id":"rick"},"subject":{"type":"user","id":"beth"}}', "invalid_json", 400],
    ['{"action":{"name":"x"},"resource":{"type":"t","id":"i"}}', "missing_field", 400],
    ['{"subject":{"type":"user","id":7},"action":{"name":"x"},"resource":{"type":"t","id":"i"}}', "invalid_field", 400],
    [`{"pad":"${"x".repeat(1024 * 1024)}"}`, "body_too_large", 413],
  ];
  for (const [body, code, status] of cases) {
    const r = await post("/access/v1/evaluation", body);
    assert.equal(r.status, status, `${body.slice(0, 40)}: ${JSON.stringify(r.body)}`);
    assert.equal(r.body.error, code);
  }
  const typed = await post("/access/v1/evaluation", "{}", { type: "text/plain" });
  assert.equal(typed.status, 400);
  assert.equal(typed.body.error, "invalid_content_type");
  const untyped = await post("/access/v1/evaluation", "{}", { type: null });
  assert.equal(untyped.status, 400);
  const batch = await post("/access/v1/evaluations", { evaluations: Array.from({ length: 1001 }, () => ({})) });
  assert.equal(batch.status, 400);
  assert.equal(batch.body.error, "too_many_evaluations");
  const unknown = await post("/access/v1/decide", {});
  assert.equal(unknown.status, 404);
  const get = await fetch(`${base}/access/v1/evaluation`);
  assert.ok(get.status === 405 || get.status === 404, String(get.status));
});

test("a changed bundle is swapped in whole; an older or broken one never replaces the current", async () => {
  const bundles = path.join(dir, "bundles");
  const morty = { subject: { type: "user", id: "morty" }, action: { name: "can_create_todo" }, resource: { type: "todo", id: "t" } };
  assert.equal((await post("/access/v1/evaluation", morty)).body.decision, true);
  const waitFor = async (predicate) => {
    for (let i = 0; i < 100; i += 1) {
      if (await predicate()) return true;
      await new Promise((r) => setTimeout(r, 50));
    }
    return false;
  };
  // Version 2 takes the editors' role away: written beside, then renamed over (atomic).
  const staging = path.join(dir, "staging");
  execFileSync("mkdir", ["-p", staging]);
  const [v2] = build("examples/authzen-todo.json", staging, 2, (source) => {
    source.orgs[0].bindings = source.orgs[0].bindings.filter((b) => b.group !== "editors");
  });
  renameSync(v2, path.join(bundles, "citadel.bundle"));
  assert.ok(await waitFor(async () => (await post("/access/v1/evaluation", morty)).body.decision === false), "version 2 was not loaded");
  // Version 1 again: refused (rollback); the answer stays version 2's.
  const [v1] = build("examples/authzen-todo.json", staging, 1);
  renameSync(v1, path.join(bundles, "citadel.bundle"));
  await new Promise((r) => setTimeout(r, 400));
  assert.equal((await post("/access/v1/evaluation", morty)).body.decision, false);
  assert.ok(logLines.some((l) => l.includes('"bundle_refused"') && l.includes("bundle_rollback")), logLines.slice(-3).join("\n"));
  // A corrupt file: refused too, and the organization keeps answering.
  writeFileSync(path.join(bundles, "citadel.bundle"), "not a bundle");
  await new Promise((r) => setTimeout(r, 400));
  const still = await post("/access/v1/evaluation", { ...morty, action: { name: "can_read_todos" } }, { headers: { "x-request-id": "after-corruption" } });
  assert.equal(still.status, 200);
  assert.equal(still.body.decision, true);
});

test("SIGTERM: the server finishes and exits cleanly", async () => {
  server.kill("SIGTERM");
  const [code] = await once(server, "exit");
  assert.equal(code, 0);
  assert.ok(logLines.at(-1).includes('"stopped"'));
  assert.ok(readdirSync(dir).length > 0);
});
