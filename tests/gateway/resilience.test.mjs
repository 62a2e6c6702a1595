// The gateway when its surroundings fail: KV outages, a slow origin, bundles changing while
// requests are in flight. It fails closed, and never decides with half of two bundles.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { buildBundles, mint, startOrigin, startGateway, sleep } from "./harness.mjs";

let origin;
before(async () => { origin = await startOrigin(); });
after(async () => { await origin?.close(); });

const path = "/v1/envs/client-a-dev/workflows/wf-1";
const get = async (gw, token) => {
  const res = await gw.fetch(path, { headers: { authorization: `Bearer ${token}` } });
  const body = await res.json();
  return { status: res.status, reason: body.reason, version: Number(body.bundle_version) };
};
const health = async (gw) => (await gw.health()).bundles;

test("a KV outage: the last good bundle serves until it expires, then 503; recovery after", async () => {
  const gw = await startGateway({ origin: origin.url, refreshSeconds: 1, faultyKv: true });
  try {
    const token = await mint({ sub: "dana", env: "client-a-dev" });
    // No bundle loaded yet and KV down: nothing to decide with.
    gw.faults.failing = true;
    assert.deepEqual(await get(gw, token), { status: 503, reason: "no_valid_bundle", version: NaN });

    gw.faults.failing = false;
    const expiresAt = Date.now() + 6000;
    await gw.put("client-a", buildBundles("examples/integration-platform.json", 1, { ttl: 6 }).get("client-a"));
    assert.deepEqual(await get(gw, token), { status: 200, reason: undefined, version: 1 });

    gw.faults.failing = true;
    await sleep(1100);
    const seen = origin.seen.length;
    assert.deepEqual(await get(gw, token), { status: 200, reason: undefined, version: 1 });
    assert.equal(origin.seen.length, seen + 1);
    const [a] = await health(gw);
    assert.equal(a.last_refresh_error, "kv_unavailable");
    assert.equal(a.usable, true);

    await sleep(Math.max(0, expiresAt - Date.now()) + 300);
    assert.deepEqual(await get(gw, token), { status: 503, reason: "no_valid_bundle", version: NaN });
    assert.equal(origin.seen.length, seen + 1, "nothing is forwarded without a valid bundle");

    gw.faults.failing = false;
    await gw.put("client-a", buildBundles("examples/integration-platform.json", 2).get("client-a"));
    assert.deepEqual(await get(gw, token), { status: 200, reason: undefined, version: 2 });
  } finally {
    await gw.close();
  }
});

test("a slow origin: 504 JSON after the origin timeout; other requests unaffected", async () => {
  const slow = await startOrigin({ delayMs: 5000 });
  const gw = await startGateway({ origin: slow.url, originTimeoutSeconds: 0.5 });
  try {
    const bundles = buildBundles("examples/integration-platform.json", 1);
    await gw.put("client-a", bundles.get("client-a"));
    await gw.put("client-b", bundles.get("client-b"));
    const token = await mint({ sub: "dana", env: "client-a-dev" });
    const started = Date.now();
    const res = await gw.fetch(path, { headers: { authorization: `Bearer ${token}` } });
    const elapsed = Date.now() - started;
    assert.equal(res.status, 504);
    const body = await res.json();
    assert.equal(body.error, "gateway_timeout");
    assert.equal(body.reason, "origin_timeout");
    assert.match(body.decision_id, /^[0-9a-f]{24}$/);
    assert.ok(elapsed < 4000, `answered after ${elapsed} ms, before the origin would have`);
    // Log lines are written once the answer is out: wait for it.
    assert.ok(await gw.logged((l) => JSON.parse(l).error === "origin_timeout"), "an origin_timeout log line");

    // Denials never wait for the origin; a fast origin answers again.
    const cross = await get(gw, await mint({ sub: "olivia", org: "client-b", env: "client-b-dev" }));
    assert.equal(cross.status, 403);
    slow.options.delayMs = 0;
    assert.equal((await get(gw, token)).status, 200);
  } finally {
    await gw.close();
    await slow.close();
  }
});

test("requests in flight during bundle refreshes are decided by exactly one bundle version", async () => {
  // Odd versions allow Dana; even versions revoke her token. KV reads are slowed so that
  // refreshes overlap with requests in flight.
  const gw = await startGateway({ origin: origin.url, refreshSeconds: 1, faultyKv: true });
  try {
    const token = await mint({ sub: "dana", env: "client-a-dev", jti: "in-flight" });
    const outcomes = [];
    gw.faults.delayMs = 150;
    for (let version = 1; version <= 6; version += 1) {
      const revoke = version % 2 === 0;
      const bundle = buildBundles("examples/integration-platform.json", version, {
        edit: revoke ? (s) => s.orgs[0].revocations.token_ids.push("in-flight") : undefined,
      }).get("client-a");
      await gw.put("client-a", bundle);
      // 60 requests spread over 1.2 s: across the refresh interval and the slow KV read.
      const wave = Array.from({ length: 60 }, async (_, i) => {
        await sleep(i * 20);
        const res = await gw.fetch(path, { headers: { authorization: `Bearer ${token}` } });
        const body = await res.json();
        outcomes.push({ status: res.status, reason: body.reason, version: Number(body.bundle_version) });
      });
      await Promise.all(wave);
    }
    const allowed = outcomes.filter((o) => o.status === 200);
    const revoked = outcomes.filter((o) => o.status === 403);
    assert.equal(allowed.length + revoked.length, outcomes.length, JSON.stringify(outcomes.filter((o) => o.status !== 200 && o.status !== 403)));
    for (const o of allowed) assert.equal(o.version % 2, 1, `allowed under version ${o.version}, which revokes`);
    for (const o of revoked) {
      assert.equal(o.reason, "revoked");
      assert.equal(o.version % 2, 0, `revoked under version ${o.version}, which allows`);
    }
    assert.ok(allowed.length > 0 && revoked.length > 0);
    const versions = new Set(outcomes.map((o) => o.version));
    assert.ok(versions.size >= 4, `decided under versions ${[...versions]}`);
  } finally {
    await gw.close();
  }
});
