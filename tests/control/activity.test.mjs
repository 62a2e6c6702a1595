// Activity without state at the edge: the gateway sends one event per decision to a Queue,
// the control plane folds them into D1, and the user's details show them.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { mint, sleep, startControlPlane } from "./harness.mjs";

let cp;
before(async () => {
  cp = await startControlPlane();
  await cp.importPolicy("northwind", "examples/access-levels.json");
});
after(async () => { await cp?.close(); });

test("after gateway traffic, GET /iam/users/{user} shows lastActive, the distinct tokens and the last operations", async () => {
  const jane = await mint({ sub: "jane" });
  const quiet = await cp.call("GET", "/iam/users/bob", { token: jane });
  assert.equal(quiet.status, 200);
  assert.equal(quiet.body.lastActive, null);
  assert.deepEqual(quiet.body.activity, { lastLogin: null, loginCount: 0, lastOperations: [] });

  const started = Math.floor(Date.now() / 1000);
  const staging = await mint({ kind: "envauth", sub: "bob", env: "nw-staging" });
  const production = await mint({ kind: "envauth", sub: "bob", env: "nw-production" });
  const ask = (token, method, env, id) => cp.gateway(`/v1/envs/${env}/workflows/${id}`,
    { method, headers: { authorization: `Bearer ${token}` }, body: method === "PUT" ? "{}" : undefined });
  assert.equal((await ask(staging, "GET", "nw-staging", "wf-1")).status, 200);
  assert.equal((await ask(staging, "PUT", "nw-staging", "wf-2")).status, 200);
  assert.equal((await ask(production, "GET", "nw-production", "wf-3")).status, 200);
  const denied = await ask(production, "PUT", "nw-production", "wf-4");
  assert.equal(denied.status, 403);
  assert.equal((await denied.json()).reason, "explicit_deny");

  let seen;
  for (const deadline = Date.now() + 10_000; Date.now() < deadline; await sleep(200)) {
    seen = (await cp.call("GET", "/iam/users/bob", { token: jane })).body;
    if (seen.activity.lastOperations.length === 4) break;
  }
  assert.equal(seen.activity.loginCount, 2, JSON.stringify(seen));
  const lastActive = Date.parse(seen.lastActive) / 1000;
  assert.ok(lastActive >= started && lastActive <= Date.now() / 1000 + 1, seen.lastActive);
  assert.ok(Date.parse(seen.activity.lastLogin) / 1000 >= started);
  const ops = seen.activity.lastOperations.map((o) => `${o.action} ${o.resource} ${o.env} ${o.outcome} ${o.reason}`).sort();
  assert.deepEqual(ops, [
    "workflow:edit workflow/wf-2 nw-staging allow allowed",
    "workflow:edit workflow/wf-4 nw-production deny explicit_deny",
    "workflow:read workflow/wf-1 nw-staging allow allowed",
    "workflow:read workflow/wf-3 nw-production allow allowed",
  ]);
  // Nothing of a token reaches D1: only the digests.
  const tokens = await cp.rows("SELECT token FROM activity_tokens WHERE org = 'northwind' AND sub = 'bob'");
  assert.equal(tokens.length, 2);
  for (const { token } of tokens) {
    assert.match(token, /^[0-9a-f]{16}$/);
    assert.ok(!staging.includes(token) && !production.includes(token));
  }
});
