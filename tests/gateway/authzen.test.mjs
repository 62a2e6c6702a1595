// The AuthZEN endpoints of the gateway Worker (`AUTHZEN = "on"`), in workerd through
// Miniflare, bundles in KV: the working group's Todo decision files scored as its runner
// scores them, and the PEP's credential, bad input and metadata answered as `portcullis
// serve` answers them. Without the setting, the paths are the route table's like any other.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { TODO_FILES, scoreTodoFile } from "../authzen/score.mjs";
import { buildBundles, mint, startGateway, startOrigin } from "./harness.mjs";

let gw, plain, origin, pep;
const aud = "https://pdp.citadel.example";

before(async () => {
  origin = await startOrigin();
  gw = await startGateway({ origin: origin.url, settings: { AUTHZEN: "on" } });
  plain = await startGateway({ origin: origin.url });
  const todo = buildBundles("examples/authzen-todo.json", 1).get("citadel");
  const records = buildBundles("examples/authzen-search.json", 1).get("records-inc");
  for (const g of [gw, plain]) {
    await g.put("citadel", todo);
    await g.put("records-inc", records);
  }
  pep = await mint({ kind: "service", sub: "todo-backend", org: "citadel", clientId: "todo-backend", aud });
});

after(async () => {
  await gw?.close();
  await plain?.close();
  await origin?.close();
});

async function post(g, p, body, { token = pep, type = "application/json", headers = {} } = {}) {
  const r = await g.fetch(p, {
    method: "POST",
    headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(type ? { "content-type": type } : {}), ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
  const text = await r.text();
  return { status: r.status, headers: r.headers, body: text ? JSON.parse(text) : null };
}

test("every Todo decision file passes at the edge", async () => {
  const counts = [];
  for (const [file, expected] of TODO_FILES) {
    const { passed, total } = await scoreTodoFile(file, async (request) => {
      const r = await post(gw, "/access/v1/evaluation", request);
      assert.equal(r.status, 200, JSON.stringify(r.body));
      return r.body;
    }, async (request) => (await post(gw, "/tenants/citadel/access/v1/evaluations", request)).body);
    counts.push(`${file}: ${passed}/${total}`);
    assert.equal(total, expected, file);
    assert.equal(passed, total, file);
  }
  console.log(counts.join("; "));
});

test("the PEP's credential, bad input, searches and metadata at the edge", async () => {
  const request = { subject: { type: "user", id: "rick" }, action: { name: "can_read_todos" }, resource: { type: "todo", id: "t" } };
  const ok = await post(gw, "/access/v1/evaluation", request, { headers: { "x-request-id": "edge-1" } });
  assert.deepEqual(ok.body, { decision: true });
  assert.equal(ok.headers.get("x-request-id"), "edge-1");
  for (const token of [null, "x.y.z", await mint({ kind: "orgauth", sub: "rick", org: "citadel", aud }),
    await mint({ kind: "service", sub: "todo-backend", org: "umbrella", clientId: "todo-backend", aud })]) {
    const r = await post(gw, "/access/v1/evaluation", request, { token });
    assert.equal(r.status, 401, String(token));
    assert.equal(r.headers.get("www-authenticate"), 'Bearer error="invalid_token"');
  }
  assert.equal((await post(gw, "/tenants/records-inc/access/v1/evaluation", request)).status, 401);
  const reporting = await mint({ kind: "service", sub: "reporting", org: "citadel", clientId: "reporting", aud });
  const denied = await post(gw, "/access/v1/evaluation", request, { token: reporting });
  assert.equal(denied.status, 403);
  assert.equal(denied.headers.get("www-authenticate"), 'Bearer error="insufficient_scope"');
  for (const [body, code, status] of [["", "empty_body", 400], ["{", "invalid_json", 400], ["[]", "invalid_field", 400],
    [`{"pad":"${"x".repeat(1024 * 1024)}"}`, "body_too_large", 413]]) {
    const r = await post(gw, "/access/v1/evaluation", body);
    assert.equal(r.status, status, code);
    assert.equal(r.body.error, code);
  }
  assert.equal((await post(gw, "/access/v1/evaluation", "{}", { type: "text/plain" })).body.error, "invalid_content_type");
  assert.equal((await post(gw, "/access/v1/nothing", "{}")).status, 404);
  const records = await mint({ kind: "service", sub: "records-api", org: "records-inc", clientId: "records-api", aud: "https://pdp.records.example" });
  const found = await post(gw, "/access/v1/search/resource", { subject: { type: "user", id: "felix" }, action: { name: "edit" },
    resource: { type: "record" } }, { token: records });
  assert.deepEqual(found.body.results.map((r) => r.id), ["106", "112", "118"]);
  const meta = await (await gw.fetch("/.well-known/authzen-configuration/citadel")).json();
  assert.equal(meta.access_evaluation_endpoint, "http://api.integrations.example/tenants/citadel/access/v1/evaluation");
  assert.ok(await gw.logged((l) => l.includes('"authzen:evaluation"') && l.includes('"org":"citadel"')));
  assert.ok(!gw.logs.some((l) => l.includes(pep)), "a token was logged");
});

test("without AUTHZEN the paths go through the route table (here: no route, 404), never to the PDP", async () => {
  const request = { subject: { type: "user", id: "rick" }, action: { name: "can_read_todos" }, resource: { type: "todo", id: "t" } };
  const r = await post(plain, "/access/v1/evaluation", request);
  assert.notEqual(r.status, 200);
  assert.equal(r.body.decision, undefined);
  assert.equal(origin.seen.length, 0);
});
