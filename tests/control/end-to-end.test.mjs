// End to end: a user added through the management API is let through by the gateway once it
// reads the new bundle (its refresh interval, 1 s here), and refused again once she is removed.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { mint, startControlPlane, sleep } from "./harness.mjs";

const REFRESH_SECONDS = 1;
let cp;
before(async () => {
  cp = await startControlPlane({ refreshSeconds: REFRESH_SECONDS });
  await cp.importPolicy("northwind", "examples/access-levels.json");
});
after(async () => { await cp?.close(); });

/** Asks the gateway until `accept(response, body)` holds; resolves to the milliseconds it took. */
async function until(token, accept, what) {
  const start = Date.now();
  const deadline = start + (REFRESH_SECONDS + 5) * 1000;
  let last;
  while (Date.now() < deadline) {
    const res = await cp.gateway("/v1/envs/nw-staging/workflows/wf-orders", { headers: { authorization: `Bearer ${token}` } });
    const text = await res.text();
    last = { status: res.status, text };
    let body = null;
    try { body = JSON.parse(text); } catch { /* the origin's answer */ }
    if (accept(res, body)) return Date.now() - start;
    await sleep(100);
  }
  assert.fail(`${what}: still ${JSON.stringify(last)} after ${REFRESH_SECONDS + 5} s`);
}

test("add → the gateway allows her within the refresh interval; remove → it refuses her", async () => {
  const dana = await mint({ kind: "envauth", sub: "dana@example.com", env: "nw-staging" });
  const first = await cp.gateway("/v1/envs/nw-staging/workflows/wf-orders", { headers: { authorization: `Bearer ${dana}` } });
  assert.equal(first.status, 403);
  assert.equal((await first.json()).reason, "not_a_member");

  const sue = await mint({ sub: "sue" });
  const added = await cp.call("POST", "/iam/users", { token: sue, body: ["Read", "dana@example.com"] });
  assert.equal(added.status, 201);
  const allowedAfter = await until(dana, (res) => res.status === 200, "after the add");
  assert.ok(allowedAfter <= (REFRESH_SECONDS + 1) * 1000, `allowed after ${allowedAfter} ms`);
  assert.equal(cp.origin.seen.at(-1).headers["x-portcullis-bundle-version"], added.headers.get("x-portcullis-bundle-version"));

  // Read does not edit: the gateway decides with her access level.
  const edit = await cp.gateway("/v1/envs/nw-staging/workflows/wf-orders", { method: "PUT", body: "{}", headers: { authorization: `Bearer ${dana}` } });
  assert.equal(edit.status, 403);

  const removed = await cp.call("DELETE", "/iam/users/dana@example.com", { token: sue });
  assert.equal(removed.status, 200);
  let reason;
  const refusedAfter = await until(dana, (res, body) => {
    reason = body?.reason;
    return res.status === 403 && ["not_a_member", "revoked"].includes(body?.reason);
  }, "after the remove");
  assert.ok(refusedAfter <= (REFRESH_SECONDS + 1) * 1000, `refused after ${refusedAfter} ms`);
  assert.ok(["not_a_member", "revoked"].includes(reason));
});
