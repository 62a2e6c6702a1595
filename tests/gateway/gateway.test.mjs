// The gateway on the real runtime: the built Worker in workerd, a real origin on 127.0.0.1.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { buildBundles, mint, startOrigin, startGateway, sleep } from "./harness.mjs";

let origin, gw, bundles;

before(async () => {
  origin = await startOrigin();
  gw = await startGateway({ origin: origin.url, refreshSeconds: 1 });
  bundles = buildBundles("examples/integration-platform.json", 10);
  await gw.put("client-a", bundles.get("client-a"));
  await gw.put("client-b", bundles.get("client-b"));
});

after(async () => {
  await gw?.close();
  await origin?.close();
});

const bearer = (t) => ({ authorization: `Bearer ${t}` });

async function expectRefused(path, init, status, reason) {
  const before = origin.seen.length;
  const res = await gw.fetch(path, init);
  const body = await res.json();
  assert.equal(res.status, status, `${path}: ${JSON.stringify(body)}`);
  if (status === 401) {
    assert.equal(body.error, "invalid_token");
    assert.match(res.headers.get("www-authenticate"), /^Bearer error="invalid_token"/);
  } else if (status === 403) {
    assert.deepEqual(Object.keys(body).sort(), ["bundle_version", "decision_id", "error", "reason"]);
    assert.equal(body.bundle_version, 10);
    assert.equal(body.error, "forbidden");
    assert.equal(body.reason, reason);
  } else {
    assert.equal(body.reason, reason);
  }
  assert.equal(origin.seen.length, before, "a refused request never reaches the origin");
  return body;
}

test("an allowed request is forwarded with identity headers and intact method, query and body", async () => {
  const token = await mint({ sub: "dana", env: "client-a-dev" });
  const payload = JSON.stringify({ steps: ["fetch", "transform", "load"] });
  const res = await gw.fetch("/v1/envs/client-a-dev/workflows/wf-orders?dryRun=true&x=%2F", {
    method: "PUT",
    headers: { ...bearer(token), "content-type": "application/json", "x-request-id": "r-1" },
    body: payload,
  });
  assert.equal(res.status, 200);
  assert.deepEqual(await res.json(), { origin: "ok", bytes: payload.length, bundle_version: "10" });
  const seen = origin.seen.at(-1);
  assert.equal(seen.method, "PUT");
  assert.equal(seen.url, "/v1/envs/client-a-dev/workflows/wf-orders?dryRun=true&x=%2F");
  assert.equal(seen.sha256, createHash("sha256").update(payload).digest("hex"));
  assert.equal(seen.headers["x-portcullis-principal"], "user:dana");
  assert.equal(seen.headers["x-portcullis-org"], "client-a");
  assert.equal(seen.headers["x-portcullis-env"], "client-a-dev");
  assert.match(seen.headers["x-portcullis-decision"], /^[0-9a-f]{24}$/);
  assert.equal(seen.headers["x-portcullis-bundle-version"], "10");
  assert.equal(seen.headers["x-request-id"], "r-1");
  assert.equal(seen.headers["content-type"], "application/json");
});

test("every deny reason is a 401 or 403 and never reaches the origin", async () => {
  const dana = await mint({ sub: "dana", env: "client-a-dev" });
  await expectRefused("/v1/envs/client-a-prod/workflows/wf-1", { headers: bearer(dana) }, 403, "cross_environment");
  await expectRefused("/v1/envs/client-b-dev/workflows/wf-1", { headers: bearer(dana) }, 403, "cross_tenant");
  const bea = await mint({ sub: "bea", org: "client-b", env: "client-b-dev" });
  await expectRefused("/v1/envs/client-a-dev/workflows/wf-1", { headers: bearer(bea) }, 403, "cross_tenant");
  const adamOrg = await mint({ kind: "orgauth", sub: "adam" });
  await expectRefused("/v1/envs/client-a-dev/logs", { headers: bearer(adamOrg) }, 403, "env_token_required");
  const stranger = await mint({ sub: "mallory", env: "client-a-dev" });
  await expectRefused("/v1/envs/client-a-dev/workflows/wf-1", { headers: bearer(stranger) }, 403, "not_a_member");
  const adamProd = await mint({ sub: "adam", env: "client-a-prod" });
  await expectRefused("/v1/envs/client-a-prod/workflows/wf-1", { method: "PUT", headers: bearer(adamProd), body: "{}" }, 403, "explicit_deny");
  const scoped = await mint({ sub: "dana", env: "client-a-dev", scope: "workflow:read" });
  await expectRefused("/v1/envs/client-a-dev/workflows/wf-1", { method: "PUT", headers: bearer(scoped), body: "{}" }, 403, "outside_token_scope");
  const tess = await mint({ sub: "tess", env: "client-a-prod" });
  await expectRefused("/v1/envs/client-a-prod/workflows/wf-1", { headers: bearer(tess) }, 403, "no_matching_grant");
  const rick = await mint({ sub: "rick", env: "client-a-dev" });
  await expectRefused("/v1/envs/client-a-dev/workflows/wf-1", { headers: bearer(rick) }, 403, "revoked");
  const leaked = await mint({ sub: "dana", env: "client-a-dev", jti: "leaked-token-1" });
  await expectRefused("/v1/envs/client-a-dev/workflows/wf-1", { headers: bearer(leaked) }, 403, "revoked");
  await expectRefused("/v1/envs/client-a-dev/workflows/wf-1", {}, 401);
  await expectRefused("/v1/envs/client-a-dev/workflows/wf-1", { headers: bearer("not.a.jwt") }, 401);
  const expired = await mint({ sub: "dana", env: "client-a-dev", ttl: -120, age: 700 });
  await expectRefused("/v1/envs/client-a-dev/workflows/wf-1", { headers: bearer(expired) }, 401);
  const wrongAud = await mint({ sub: "dana", env: "client-a-dev", aud: "https://elsewhere.example" });
  await expectRefused("/v1/envs/client-a-dev/workflows/wf-1", { headers: bearer(wrongAud) }, 401);
  const embedded = await mint({ sub: "dana", env: "client-a-dev", header: { jku: "https://evil.example/jwks" } });
  await expectRefused("/v1/envs/client-a-dev/workflows/wf-1", { headers: bearer(embedded) }, 401);
});

test("client-sent x-portcullis-* and hop-by-hop headers are stripped before forwarding", async () => {
  const token = await mint({ sub: "dana", env: "client-a-dev" });
  const res = await gw.fetch("/v1/envs/client-a-dev/workflows/wf-1", {
    headers: { ...bearer(token), "x-portcullis-principal": "user:olivia", "X-Portcullis-Org": "client-b", "x-portcullis-admin": "yes",
      "proxy-authorization": "Basic b2xpdmlhOnNlY3JldA==", "x-request-id": "r-2" },
  });
  assert.equal(res.status, 200);
  await res.arrayBuffer();
  const seen = origin.seen.at(-1);
  assert.equal(seen.headers["x-portcullis-principal"], "user:dana");
  assert.equal(seen.headers["x-portcullis-org"], "client-a");
  assert.equal(seen.headers["x-portcullis-admin"], undefined);
  assert.equal(seen.headers["proxy-authorization"], undefined);
  assert.equal(seen.headers.authorization, `Bearer ${token}`, "the origin may read the token itself");
  assert.equal(seen.headers["x-request-id"], "r-2");
});

test("an unmapped route is a 404 and is never forwarded", async () => {
  const token = await mint({ sub: "olivia", env: "client-a-dev" });
  await expectRefused("/v1/envs/client-a-dev/secrets/dump", { headers: bearer(token) }, 404, "no_route");
  await expectRefused("/admin", { method: "POST", headers: bearer(token) }, 404, "no_route");
});

test("/_portcullis/me answers the caller's effective permissions; health shows versions", async () => {
  const token = await mint({ sub: "dana", env: "client-a-dev" });
  const res = await gw.fetch("/_portcullis/me", { headers: bearer(token) });
  assert.equal(res.status, 200);
  const me = await res.json();
  assert.equal(me.principal, "dana");
  assert.equal(me.env, "client-a-dev");
  assert.ok(me.permissions.includes("workflow:edit"));
  const health = await gw.health();
  assert.equal(health.status, "ok");
  assert.ok(health.bundles.some((b) => b.org === "client-a" && b.version >= 10));
  assert.ok(!JSON.stringify(health).includes(token.slice(0, 30)));
  // Without the operator secret: figures only, no organization and no version.
  for (const headers of [{}, bearer("not-the-secret"), bearer(token)]) {
    const summary = await (await gw.fetch("/_portcullis/health", { headers })).json();
    assert.deepEqual(Object.keys(summary).sort(), ["cached_tokens", "last_refresh_error", "memory_bytes",
      "organizations", "refresh_errors", "status", "usable"]);
    assert.ok(summary.organizations >= 2 && summary.usable >= 2);
    assert.ok(!JSON.stringify(summary).includes("client-"));
  }
});

test("a 20 MB body is streamed through intact", async () => {
  const token = await mint({ sub: "dana", env: "client-a-dev" });
  const big = randomBytes(20 * 1024 * 1024);
  const res = await gw.fetch("/v1/envs/client-a-dev/workflows/wf-big/test", { method: "POST", headers: bearer(token), body: big });
  assert.equal(res.status, 200);
  const body = await res.json();
  assert.equal(body.bytes, big.length);
  assert.equal(origin.seen.at(-1).sha256, createHash("sha256").update(big).digest("hex"));
});

test("1,000 mixed requests: zero wrong decisions", async () => {
  const tokens = {
    dana: await mint({ sub: "dana", env: "client-a-dev" }),
    ivan: await mint({ sub: "ivan", env: "client-a-prod" }),
    bea: await mint({ sub: "bea", org: "client-b", env: "client-b-dev" }),
    tess: await mint({ sub: "tess", env: "client-a-prod" }),
  };
  const cases = [
    ["dana", "PUT", "/v1/envs/client-a-dev/workflows/wf-1", 200],
    ["dana", "GET", "/v1/envs/client-a-prod/workflows/wf-1", 403],
    ["dana", "GET", "/v1/envs/client-b-dev/workflows/wf-1", 403],
    ["ivan", "PUT", "/v1/envs/client-a-prod/config", 200],
    ["ivan", "PUT", "/v1/envs/client-a-prod/workflows/wf-1", 403],
    ["bea", "POST", "/v1/envs/client-b-dev/workflows/wf-9/test", 200],
    ["bea", "GET", "/v1/envs/client-a-dev/workflows/wf-1", 403],
    ["tess", "GET", "/v1/envs/client-a-prod/logs", 200],
    ["tess", "GET", "/v1/envs/client-a-prod/workflows/wf-1", 403],
    [null, "GET", "/v1/envs/client-a-dev/workflows/wf-1", 401],
  ];
  let wrong = 0;
  const forwardedBefore = origin.seen.length;
  let expectedForwards = 0;
  for (let i = 0; i < 1000; i++) {
    const [who, method, path, want] = cases[i % cases.length];
    const init = { method, headers: who ? bearer(tokens[who]) : {} };
    if (method !== "GET") init.body = "{}";
    const res = await gw.fetch(path, init);
    await res.arrayBuffer();
    if (res.status !== want) wrong++;
    if (want === 200) expectedForwards++;
  }
  assert.equal(wrong, 0);
  assert.equal(origin.seen.length - forwardedBefore, expectedForwards, "exactly the allowed requests reached the origin");
});

test("one JSON log line per decision, never the token", async () => {
  const token = await mint({ sub: "ivan", env: "client-a-prod" });
  const before = gw.logs.length;
  const res = await gw.fetch("/v1/envs/client-a-prod/config", { method: "PUT", headers: bearer(token), body: "{}" });
  await res.arrayBuffer();
  await new Promise((r) => setTimeout(r, 200));
  const lines = gw.logs.slice(before).map((l) => JSON.parse(l.slice(l.indexOf("{"))));
  const line = lines.find((l) => l.decision_id === origin.seen.at(-1).headers["x-portcullis-decision"]);
  assert.ok(line, `no log line among ${JSON.stringify(lines)}`);
  assert.deepEqual(
    { org: line.org, env: line.env, sub: line.sub, action: line.action, resource: line.resource, reason: line.reason, rule: line.rule, bundle_version: line.bundle_version },
    { org: "client-a", env: "client-a-prod", sub: "ivan", action: "config:update", resource: "config", reason: "allowed", rule: "ivan:implementation_specialist@client-a-prod", bundle_version: 10 },
  );
  assert.equal(typeof line.time, "number");
  const signature = token.split(".")[2];
  assert.ok(gw.logs.every((l) => !l.includes(signature)), "no log line carries a token");
});

test("DECISION_LOG=denied: no line for a forwarded request, one for each refusal", async () => {
  const quiet = await startGateway({ origin: origin.url, decisionLog: "denied" });
  try {
    await quiet.put("client-a", bundles.get("client-a"));
    const token = await mint({ sub: "ivan", env: "client-a-prod" });
    const allowed = await quiet.fetch("/v1/envs/client-a-prod/config", { method: "PUT", headers: bearer(token), body: "{}" });
    assert.equal(allowed.status, 200);
    const decision = origin.seen.at(-1).headers["x-portcullis-decision"];
    assert.match(decision, /^[0-9a-f]{24}$/, "the origin still gets the decision id");
    const denied = await quiet.fetch("/v1/envs/client-a-dev/config", { method: "PUT", headers: bearer(token), body: "{}" });
    assert.equal(denied.status, 403);
    const { decision_id: deniedId } = await denied.json();
    await sleep(200);
    const lines = quiet.logs.map((l) => JSON.parse(l.slice(l.indexOf("{"))));
    assert.ok(!lines.some((l) => l.decision_id === decision), "no line for the forwarded request");
    const line = lines.find((l) => l.decision_id === deniedId);
    assert.ok(line, `no line for the refusal among ${JSON.stringify(lines)}`);
    assert.equal(line.reason, "cross_environment");
  } finally {
    await quiet.close();
  }
});

test("every attack vector on the token path is a 401 at the gateway, for the same reason as at the core", async () => {
  const { readFileSync, mkdtempSync } = await import("node:fs");
  const { execFileSync } = await import("node:child_process");
  const { tmpdir } = await import("node:os");
  const { root } = await import("./harness.mjs");
  // The gateway reads the real clock: generate the attack vectors for now.
  const dir = mkdtempSync(`${tmpdir()}/portcullis-attacks-`);
  execFileSync("cargo", ["run", "--locked", "--quiet", "--example", "gen-vectors", "--", "--at", String(Math.floor(Date.now() / 1000)), dir], { cwd: root, stdio: ["ignore", "ignore", "inherit"] });
  const v = JSON.parse(readFileSync(`${dir}/decisions.json`, "utf8"));
  const attacks = JSON.parse(readFileSync(`${dir}/attacks.json`, "utf8"));
  const vgw = await startGateway({ origin: origin.url, trustedKeys: JSON.stringify(v.bundle_keys) });
  try {
    const bundle = v.bundles.find((b) => b.org === "client-a");
    await vgw.put("client-a", new Uint8Array(Buffer.from(bundle.bundle, "base64")));
    const seen = origin.seen.length;
    assert.ok(attacks.cases.length >= 40);
    for (const c of attacks.cases) {
      const res = await vgw.fetch(attacks.request.resource ? "/v1/envs/client-a-dev/workflows/wf-orders" : "/", { headers: { authorization: `Bearer ${c.token}` } });
      const body = await res.json();
      assert.equal(res.status, 401, `${c.name}: ${JSON.stringify(body)}`);
      assert.equal(body.error, "invalid_token", c.name);
      // The same code as at the core, except for tokens refused before a bundle is chosen
      // because no `org` claim can be read from them.
      assert.ok(body.reason === c.detail || body.reason === "token_missing_claim", `${c.name}: ${body.reason} vs ${c.detail}`);
    }
    assert.equal(origin.seen.length, seen, "no attack reaches the origin");
  } finally {
    await vgw.close();
  }
});
