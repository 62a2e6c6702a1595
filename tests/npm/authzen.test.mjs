// The AuthZEN Authorization API in the npm package: `evaluation`, `evaluations` and the
// searches on an `Authorizer`, and `authzenHandler` behind Node's own http server on
// 127.0.0.1. The working group's Todo decision files are scored as its runner scores them,
// on both surfaces; the handler's credential and bad-input rules are `portcullis serve`'s.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import { once } from "node:events";
import { readFileSync } from "node:fs";
import path from "node:path";
import { installPackage, root } from "./install.mjs";
import { buildBundles, mint } from "../gateway/harness.mjs";
import { TODO_FILES, scoreTodoFile } from "../authzen/score.mjs";

let pkg, esm, trusted, todo, records, server, base, pep;
const todoAud = "https://pdp.citadel.example";

before(async () => {
  const installed = installPackage();
  pkg = installed.cjs();
  esm = await installed.esm();
  await esm.default();
  trusted = JSON.parse(readFileSync(path.join(root, "examples/keys/bundle-signing.public.jwk"), "utf8"));
  todo = buildBundles("examples/authzen-todo.json", 1).get("citadel");
  records = buildBundles("examples/authzen-search.json", 1).get("records-inc");
  const authorizers = new Map([
    ["citadel", esm.Authorizer.fromBundle(todo, [trusted])],
    ["records-inc", esm.Authorizer.fromBundle(records, [trusted])],
  ]);
  server = http.createServer(esm.authzenHandler({ authorizerFor: (org) => authorizers.get(org) }));
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  base = `http://127.0.0.1:${server.address().port}`;
  pep = await mint({ kind: "service", sub: "todo-backend", org: "citadel", clientId: "todo-backend", aud: todoAud });
});

after(() => server?.close());

test("every Todo decision file passes in process, on the CommonJS and the ESM entry", async () => {
  for (const api of [pkg, esm]) {
    const a = api.Authorizer.fromBundle(todo, [trusted]);
    for (const [file, expected] of TODO_FILES) {
      const { passed, total } = await scoreTodoFile(file, (request) => a.evaluation(request), (request) => a.evaluations(request));
      assert.equal(total, expected, file);
      assert.equal(passed, total, file);
    }
    a.free();
  }
});

test("the in-process API: reasons on request, searches, and refusals with their code and status", () => {
  const a = pkg.Authorizer.fromBundle(todo, [trusted]);
  const morty = { subject: { type: "user", id: "morty" }, action: { name: "can_update_todo" },
    resource: { type: "todo", id: "t", properties: { ownerID: "morty@the-citadel.com" } } };
  assert.deepEqual(a.evaluation(morty), { decision: true });
  assert.deepEqual(a.evaluation(morty, { reasons: true }),
    { decision: true, context: { reason: "allowed", rule: "editors-change-their-own-todos", bundle_version: 1 } });
  // The same body as text or bytes.
  assert.equal(a.authzen("evaluation", JSON.stringify(morty)), '{"decision":true}');
  assert.equal(a.authzen("evaluation", new TextEncoder().encode(JSON.stringify(morty))), '{"decision":true}');
  const who = a.searchSubject({ subject: { type: "user" }, action: { name: "can_read_todos" }, resource: { type: "todo", id: "t" } });
  assert.deepEqual(who.results.map((r) => r.id), ["rick", "morty", "summer", "beth", "jerry"]);
  const r = pkg.Authorizer.fromBundle(records, [trusted]);
  assert.deepEqual(r.searchResource({ subject: { type: "user", id: "dan" }, action: { name: "edit" }, resource: { type: "record" } })
    .results.map((x) => x.id), ["104", "110", "115", "116"]);
  assert.deepEqual(r.searchAction({ subject: { type: "user", id: "carol" }, resource: { type: "record", id: "103" } }).results,
    [{ name: "view" }, { name: "edit" }, { name: "delete" }]);
  for (const [body, code, status] of [["", "empty_body", 400], ["{", "invalid_json", 400], [{ subject: { type: "user" } }, "missing_field", 400],
    [`{"pad":"${"x".repeat(1024 * 1024)}"}`, "body_too_large", 413]]) {
    assert.throws(() => a.evaluation(body), (e) => e.name === "PortcullisError" && e.code === code && e.status === status, String(body).slice(0, 30));
  }
  assert.throws(() => a.authzen("decide", {}), (e) => e.code === "invalid_argument");
  assert.throws(() => a.evaluation(morty, { now: 1.5 }), (e) => e.code === "invalid_argument");
  a.free();
  r.free();
});

async function post(pathname, body, { token = pep, type = "application/json" } = {}) {
  const response = await fetch(base + pathname, {
    method: "POST",
    headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(type ? { "content-type": type } : {}) },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
  return { status: response.status, headers: response.headers, body: await response.json() };
}

test("authzenHandler: the Todo decision files over HTTP", async () => {
  for (const [file, expected] of TODO_FILES) {
    const { passed, total } = await scoreTodoFile(file, async (request) => {
      const r = await post("/access/v1/evaluation", request);
      assert.equal(r.status, 200);
      return r.body;
    }, async (request) => (await post("/tenants/citadel/access/v1/evaluations", request)).body);
    assert.equal(total, expected, file);
    assert.equal(passed, total, file);
  }
});

test("authzenHandler: the PEP's credential, bad input and the metadata, as portcullis serve answers them", async () => {
  const request = { subject: { type: "user", id: "rick" }, action: { name: "can_read_todos" }, resource: { type: "todo", id: "t" } };
  for (const token of [null, "x.y.z", await mint({ kind: "orgauth", sub: "rick", org: "citadel", aud: todoAud }),
    await mint({ kind: "service", sub: "todo-backend", org: "umbrella", clientId: "todo-backend", aud: todoAud })]) {
    const r = await post("/access/v1/evaluation", request, { token });
    assert.equal(r.status, 401);
    assert.equal(r.headers.get("www-authenticate"), 'Bearer error="invalid_token"');
  }
  assert.equal((await post("/tenants/records-inc/access/v1/evaluation", request)).status, 401);
  const reporting = await mint({ kind: "service", sub: "reporting", org: "citadel", clientId: "reporting", aud: todoAud });
  const denied = await post("/access/v1/evaluation", request, { token: reporting });
  assert.equal(denied.status, 403);
  assert.equal(denied.body.error, "insufficient_scope");
  for (const [body, code, status] of [["", "empty_body", 400], ["{", "invalid_json", 400],
    [`{"pad":"${"x".repeat(1024 * 1024)}"}`, "body_too_large", 413]]) {
    const r = await post("/access/v1/evaluation", body);
    assert.equal(r.status, status);
    assert.equal(r.body.error, code);
  }
  assert.equal((await post("/access/v1/evaluation", "{}", { type: "text/plain" })).body.error, "invalid_content_type");
  assert.equal((await post("/access/v1/nothing", "{}")).status, 404);
  const meta = await (await fetch(`${base}/.well-known/authzen-configuration/citadel`)).json();
  assert.equal(meta.access_evaluation_endpoint, `${base}/tenants/citadel/access/v1/evaluation`);
});
