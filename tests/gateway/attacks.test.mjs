// The gateway's promise, tried as an attacker would: the origin runs exactly what was decided,
// or nothing. The built Worker runs in workerd; behind it sit real decoding origins: Flask on
// Python's wsgiref (which reads `x_portcullis_env` as `X-Portcullis-Env`), and nginx with a URI
// part in `proxy_pass` (which decodes `%2F` and resolves `..`) in front of Flask on Werkzeug.
// Both origins take the method from override headers and `_method`, and the path from
// `X-Original-URL`, as many frameworks do. Requests go over a real socket with their targets
// and headers exactly as written.
//
// For every attack, on both chains: refused (and nothing arrived at the origin), or the origin
// ran exactly the route, environment, id and method of the decision's log line, and read
// exactly the gateway's identity values.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { SignJWT, generateKeyPair } from "jose";
import { buildBundles, mint, startGateway, startFlaskOrigin, startNginx, HEALTH_SECRET } from "./harness.mjs";

/** The example, with an id-scoped deny (the payroll workflow is frozen in client-a-dev) and an
 * id pattern on the bundle route. */
function hardened(source) {
  source.orgs[0].overrides.push({
    id: "payroll-frozen", effect: "deny", permissions: ["workflow:edit", "workflow:read"], everyone: true,
    env: "client-a-dev", resource: { type: "workflow", id: "wf-payroll" },
  });
  for (const route of source.routes) if (route.id === "deploy-bundle") route.id_pattern = "[a-z0-9-]{1,32}";
}

const chains = [];
let flaskDirect, flaskBehind, nginx;
const tokens = {};

before(async () => {
  flaskDirect = await startFlaskOrigin("wsgiref");
  flaskBehind = await startFlaskOrigin("werkzeug");
  nginx = await startNginx(flaskBehind.url);
  const bundles = buildBundles("examples/integration-platform.json", 20, { edit: hardened });
  // The first chain sets the forwarding headers from the gateway's view; the second leaves
  // them out (the default): either way, the client's never arrive.
  for (const [name, origin, url, forwarded] of [["wsgiref", flaskDirect, flaskDirect.url, true],
    ["nginx → werkzeug", flaskBehind, nginx.url, false]]) {
    const settings = forwarded ? { FORWARDED_HEADERS: "true" } : {};
    const gw = await startGateway({ origin: url, refreshSeconds: 30, settings });
    await gw.put("client-a", bundles.get("client-a"));
    await gw.put("client-b", bundles.get("client-b"));
    chains.push({ name, gw, origin, forwarded });
  }
  tokens.dana = await mint({ sub: "dana", env: "client-a-dev", ttl: 3000 });
  tokens.danaReadOnly = await mint({ sub: "dana", env: "client-a-dev", scope: "workflow:read logs:read", ttl: 3000 });
  tokens.bea = await mint({ sub: "bea", org: "client-b", env: "client-b-dev", ttl: 3000 });
});

after(async () => {
  for (const c of chains) await c.gw.close();
  await nginx?.close();
  await flaskDirect?.close();
  await flaskBehind?.close();
});

const bearer = (t) => ({ authorization: `Bearer ${t}` });
/** Headers an origin may trust that the client must never set. */
const NEVER_FROM_CLIENT = ["X-Forwarded-User", "X-User", "X-Remote-User", "Remote-User", "X-Auth-Request-User",
  "X-Original-URL", "X-Rewrite-URL", "X-HTTP-Method-Override", "X-Method-Override", "X-HTTP-Method"];

/**
 * Sends one request through a chain and checks the promise. Answers what happened:
 * `{ status, body }` for a refusal, plus `{ ran, decided }` for a forward.
 */
async function attempt(chain, target, { method = "GET", headers = {}, body } = {}) {
  const what = `${chain.name}: ${method} ${target}`;
  const res = await chain.gw.raw(target, { method, headers, body });
  const seen = await chain.origin.seen();
  if (res.status !== 200) {
    assert.deepEqual(seen, [], `${what}: refused with ${res.status} yet it reached the origin`);
    assert.ok([400, 401, 403, 404, 414].includes(res.status), `${what}: ${res.status} ${JSON.stringify(res.body)}`);
    return { status: res.status, body: res.body };
  }
  const ran = seen.filter((r) => r.kind === "ran");
  assert.equal(ran.length, 1, `${what}: the origin ran ${JSON.stringify(seen)}`);
  const [r] = ran;
  const id = r.headers["X-Portcullis-Decision"];
  assert.match(id ?? "", /^[0-9a-f]{24}$/, what);
  assert.ok(await chain.gw.logged((l) => l.includes(id)), `${what}: no log line for ${id}`);
  const decided = JSON.parse(chain.gw.logs.find((l) => l.includes(id)));
  // The route, environment, id and method the origin ran are those decided.
  assert.equal(r.permission, decided.action, `${what}: ran ${r.permission}, decided ${decided.action}`);
  assert.equal(r.id === null ? r.type : `${r.type}/${r.id}`, decided.resource, `${what}: resource`);
  assert.equal(r.env ?? null, decided.env ?? null, `${what}: environment`);
  assert.equal(r.method, method.toUpperCase(), `${what}: method`);
  // The identity the origin read is the gateway's.
  assert.equal(r.headers["X-Portcullis-Principal"], `user:${decided.sub}`, what);
  assert.equal(r.headers["X-Portcullis-Org"], decided.org, what);
  assert.equal(r.headers["X-Portcullis-Env"] ?? null, decided.env ?? null, what);
  assert.equal(r.headers["X-Portcullis-Bundle-Version"], String(decided.bundle_version), what);
  const enc = (v) => encodeURIComponent(v).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  let resource = `type=${r.type}`;
  if (r.id !== null) resource += `;id=${enc(r.id)}`;
  if (r.env !== null) resource += `;env=${enc(r.env)}`;
  assert.equal(r.headers["X-Portcullis-Resource"], resource, what);
  for (const h of NEVER_FROM_CLIENT) assert.equal(r.headers[h], null, `${what}: ${h} reached the origin`);
  const host = r.headers["X-Forwarded-Host"];
  if (chain.forwarded) {
    assert.ok(host && !host.includes("evil"), `${what}: X-Forwarded-Host ${host}`);
    assert.equal(r.headers.Forwarded, `host="${host}";proto=http`, what);
    assert.equal(r.headers["X-Forwarded-Proto"], "http", what);
  } else {
    assert.equal(host, null, `${what}: X-Forwarded-Host ${host}`);
    assert.equal(r.headers.Forwarded, null, what);
    assert.equal(r.headers["X-Forwarded-Proto"], null, what);
  }
  return { status: 200, ran: r, decided };
}

/** Runs an attack on both chains. */
async function onBoth(target, init) {
  const outcomes = [];
  for (const chain of chains) outcomes.push(await attempt(chain, target, init));
  return outcomes;
}

test("encoded separators and dot segments in a parameter never reach another environment or tenant", async () => {
  const escapes = [
    "x%2F..%2F..%2F..%2Fclient-a-prod%2Fworkflows%2Fwf-orders",
    "x%2f..%2f..%2f..%2fclient-a-prod%2fworkflows%2fwf-orders",
    "x%5C..%5C..%5C..%5Cclient-a-prod%5Cworkflows%5Cwf-orders",
    "%2e%2e%2f%2e%2e%2f%2e%2e%2fclient-a-prod%2fworkflows%2fwf-orders",
    "x%252F..%252F..%252F..%252Fclient-a-prod%252Fworkflows%252Fwf-orders",
    "%2E%2E",
    "x%00",
  ];
  for (const e of escapes) {
    for (const o of await onBoth(`/v1/envs/client-a-dev/workflows/${e}`, { method: "PUT", headers: bearer(tokens.dana), body: "{}" })) {
      // 404 where the runtime's URL parser already resolved an escaped dot segment (`%2E%2E`)
      // and the path that is left matches no route.
      assert.ok(o.status === 400 || o.status === 404, `${e}: ${o.status}`);
      assert.equal(o.body.reason, o.status === 400 ? "ambiguous_path" : "no_route", e);
    }
  }
  // A client-b token reading client-a's production logs.
  for (const t of ["/v1/envs/client-b-dev/workflows/x%2F..%2F..%2F..%2Fclient-a-prod%2Flogs",
    "/v1/envs/client-b-dev/workflows/wf-1/..%2F..%2F..%2Fclient-a-prod%2Flogs",
    "/v1/envs/client-b-dev/workflows/../../client-a-prod/logs",
    "/v1/envs/client-b-dev/workflows/%2e%2e/%2e%2e/client-a-prod/logs",
    "/v1/envs/client-b-dev//..//client-a-prod/logs"]) {
    for (const o of await onBoth(t, { headers: bearer(tokens.bea) })) {
      assert.notEqual(o.status, 200, t);
      if (o.status === 403) assert.equal(o.body.reason, "cross_tenant", t);
    }
  }
});

test("no spelling of an id dodges its deny override", async () => {
  for (const id of ["wf-payroll", "wf-payrol%6C", "wf-payrol%6c", "%77f-payroll", "x%2F..%2Fwf-payroll", "wf-payroll%00",
    "wf-payroll%20", "%20wf-payroll", "wf-payroll%09", "wf-payroll;x", "wf-payroll%3Bx", "wf-payroll%2F", "wf-payroll%C2%A0",
    "wf-payroll/"]) {
    for (const method of ["GET", "PUT"]) {
      for (const o of await onBoth(`/v1/envs/client-a-dev/workflows/${id}`, { method, headers: bearer(tokens.dana), body: method === "PUT" ? "{}" : undefined })) {
        assert.ok(o.status === 400 || o.status === 403 || o.status === 404, `${method} ${id}: ${o.status}`);
        if (o.status === 403) assert.equal(o.body.reason, "explicit_deny", id);
      }
    }
  }
  // Ids the route's pattern does not allow are refused; others reach the origin as decided.
  for (const o of await onBoth("/v1/envs/client-a-dev/bundles/B%2D1/deploy", { method: "POST", headers: bearer(tokens.dana), body: "" })) {
    assert.deepEqual([o.status, o.body.reason, o.body.detail], [400, "invalid_id", "id_pattern"]);
  }
  for (const id of ["wf-orders", "wf-%6Frders", "caf%C3%A9", "a%20b", "a:b@c", "%5Bx%5D", "q%3Fx%23y", "WF-PAYROLL"]) {
    for (const o of await onBoth(`/v1/envs/client-a-d%65v/workflows/${id}`, { headers: bearer(tokens.dana) })) {
      assert.equal(o.status, 200, id);
      assert.equal(o.ran.env, "client-a-dev");
    }
  }
});

test("identity headers spelled with `_` are refused", async () => {
  for (const [name, value] of [["x_portcullis_env", "client-a-prod"], ["X_Portcullis-Org", "client-a,client-b"],
    ["x_portcullis_principal", "user:adam"], ["x_forwarded_user", "adam"], ["X_Original_URL", "/v1/envs/client-a-prod/logs"]]) {
    for (const o of await onBoth("/v1/envs/client-a-dev/workflows/wf-1", { headers: { ...bearer(tokens.dana), [name]: value } })) {
      assert.deepEqual([o.status, o.body.reason, o.body.detail], [400, "ambiguous_header", "header_name_underscore"], name);
    }
  }
});

test("a method override never runs another method at the origin", async () => {
  const read = bearer(tokens.danaReadOnly);
  for (const h of ["X-HTTP-Method-Override", "X-Method-Override", "X-HTTP-Method"]) {
    for (const o of await onBoth("/v1/envs/client-a-dev/workflows/wf-1", { headers: { ...read, [h]: "PUT" } })) {
      assert.equal(o.status, 200, h);
      assert.equal(o.ran.method, "GET", h);
    }
  }
  for (const q of ["_method=PUT", "_method=DELETE&x=1", "%5Fmethod=PUT", "_METHOD=put"]) {
    for (const o of await onBoth(`/v1/envs/client-a-dev/workflows/wf-1?${q}`, { headers: read })) {
      assert.deepEqual([o.status, o.body.reason], [400, "method_override"], q);
    }
  }
  // The method is decided and forwarded in upper case: `put` is PUT, outside this token's scope.
  for (const o of await onBoth("/v1/envs/client-a-dev/workflows/wf-1", { method: "put", headers: read, body: "{}" })) {
    assert.deepEqual([o.status, o.body.reason], [403, "outside_token_scope"]);
  }
  // The body is the origin's to ignore (docs/security.md): these origins take no method from it.
  for (const o of await onBoth("/v1/envs/client-a-dev/workflows/wf-1/test", {
    method: "POST", headers: { ...bearer(tokens.dana), "content-type": "application/x-www-form-urlencoded" }, body: "_method=PUT" })) {
    assert.equal(o.status, 200);
    assert.equal(o.ran.method, "POST");
  }
});

test("identity and routing headers from the client never reach the origin", async () => {
  const injected = {
    Forwarded: "host=evil.example;for=203.0.113.9", "X-Forwarded-Host": "evil.example", "X-Forwarded-User": "adam",
    "X-User": "adam", "X-Remote-User": "adam", "Remote-User": "adam", "X-Auth-Request-User": "adam",
    "X-Original-URL": "/v1/envs/client-a-prod/workflows/wf-orders", "X-Rewrite-URL": "/v1/envs/client-a-prod/workflows/wf-orders",
    "X-Portcullis-Env": "client-a-prod", "X-Portcullis-Org": "client-b", "X-Portcullis-Principal": "user:adam",
  };
  for (const o of await onBoth("/v1/envs/client-a-dev/workflows/wf-1", { method: "PUT", headers: { ...bearer(tokens.dana), ...injected }, body: "{}" })) {
    assert.equal(o.status, 200);
    assert.equal(o.ran.path, "/v1/envs/client-a-dev/workflows/wf-1");
  }
});

test("headers named in Connection are not dropped when the origin needs them", async () => {
  for (const o of await onBoth("/v1/envs/client-a-dev/workflows/wf-1", {
    headers: { ...bearer(tokens.dana), "x-forwarded-for": "198.51.100.7", connection: "authorization, x-forwarded-for, cf-connecting-ip" } })) {
    assert.equal(o.status, 200);
    assert.equal(o.ran.headers.Authorization, `Bearer ${tokens.dana}`);
    assert.match(o.ran.headers["X-Forwarded-For"] ?? "", /198\.51\.100\.7/);
  }
});

test("health names no organization without the operator secret; unknown organizations look like bad tokens", async () => {
  const [chain] = chains;
  await attempt(chain, "/v1/envs/client-a-dev/workflows/wf-1", { headers: bearer(tokens.dana) });
  const open = await chain.gw.raw("/_portcullis/health");
  assert.equal(open.status, 200);
  assert.ok(!JSON.stringify(open.body).includes("client-"), JSON.stringify(open.body));
  assert.ok(open.body.organizations >= 1);
  const operator = await chain.gw.raw("/_portcullis/health", { headers: bearer(HEALTH_SECRET) });
  assert.ok(operator.body.bundles.some((b) => b.org === "client-a" && b.version === 20));
  // Tokens signed by a key no organization trusts: for a real organization and an invented one.
  const { privateKey } = await generateKeyPair("EdDSA");
  const forged = (org) => new SignJWT({ org, env: `${org}-dev` })
    .setProtectedHeader({ alg: "EdDSA", typ: "envauth+jwt", kid: "mallory-key" })
    .setIssuer("https://idp.integrations.example").setAudience("https://api.integrations.example")
    .setSubject("mallory").setIssuedAt().setExpirationTime("5m").setJti("f-1").sign(privateKey);
  const answers = [];
  for (const org of ["client-a", "client-zz", "client-zz"]) {
    const res = await chain.gw.raw("/v1/dashboard", { headers: bearer(await forged(org)) });
    answers.push([res.status, res.body, res.headers["www-authenticate"]]);
  }
  assert.equal(answers[0][0], 401);
  assert.deepEqual(answers[1], answers[0]);
  assert.deepEqual(answers[2], answers[0]);
});
