// Bundle life cycle at the edge: missing, corrupt, rolled back, refreshed, revoked, expired.
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
  return { status: res.status, reason: body.reason };
};

test("no bundle: answered like a bad token; only a corrupt one: 503; never forwarded", async () => {
  const gw = await startGateway({ origin: origin.url });
  try {
    const token = await mint({ sub: "dana", env: "client-a-dev" });
    const seen = origin.seen.length;
    // An organization without a bundle is not told apart from a token no key signed.
    assert.deepEqual(await get(gw, token), { status: 401, reason: "token_unknown_kid" });
    const bytes = buildBundles("examples/integration-platform.json", 1).get("client-a");
    bytes[bytes.length >> 1] ^= 1;
    await gw.put("client-a", bytes);
    await sleep(1100);
    assert.deepEqual(await get(gw, token), { status: 503, reason: "no_valid_bundle" });
    assert.equal(origin.seen.length, seen);
  } finally {
    await gw.close();
  }
});

test("a newer bundle is picked up after the refresh interval; a rollback is ignored; revocations apply", async () => {
  const gw = await startGateway({ origin: origin.url, refreshSeconds: 1 });
  try {
    const token = await mint({ sub: "dana", env: "client-a-dev", jti: "to-be-revoked" });
    await gw.put("client-a", buildBundles("examples/integration-platform.json", 5).get("client-a"));
    assert.equal((await get(gw, token)).status, 200);

    const revoking = buildBundles("examples/integration-platform.json", 6, {
      edit: (s) => s.orgs[0].revocations.token_ids.push("to-be-revoked"),
    });
    await gw.put("client-a", revoking.get("client-a"));
    await sleep(1100);
    assert.deepEqual(await get(gw, token), { status: 403, reason: "revoked" });

    // Version 5 again (validly signed, older): ignored, the revocation stands.
    await gw.put("client-a", buildBundles("examples/integration-platform.json", 5).get("client-a"));
    await sleep(1100);
    assert.deepEqual(await get(gw, token), { status: 403, reason: "revoked" });
    const health = await gw.health();
    const a = health.bundles.find((b) => b.org === "client-a");
    assert.equal(a.version, 6);
    assert.equal(a.last_refresh_error, "bundle_rollback");

    // Garbage in KV never replaces the good bundle.
    await gw.put("client-a", new TextEncoder().encode("not a bundle"));
    await sleep(1100);
    assert.deepEqual(await get(gw, token), { status: 403, reason: "revoked" });
  } finally {
    await gw.close();
  }
});

test("when the good bundle expires, its organization gets 503", async () => {
  const gw = await startGateway({ origin: origin.url, refreshSeconds: 1 });
  try {
    const token = await mint({ sub: "dana", env: "client-a-dev" });
    await gw.put("client-a", buildBundles("examples/integration-platform.json", 1, { ttl: 3 }).get("client-a"));
    assert.equal((await get(gw, token)).status, 200);
    await sleep(3200);
    assert.deepEqual(await get(gw, token), { status: 503, reason: "no_valid_bundle" });
  } finally {
    await gw.close();
  }
});

test("an unreachable origin is a 502 JSON answer", async () => {
  const gw = await startGateway({ origin: "http://127.0.0.1:9" });
  try {
    await gw.put("client-a", buildBundles("examples/integration-platform.json", 1).get("client-a"));
    const token = await mint({ sub: "dana", env: "client-a-dev" });
    const res = await gw.fetch(path, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(res.status, 502);
    const body = await res.json();
    assert.equal(body.error, "bad_gateway");
    assert.match(body.decision_id, /^[0-9a-f]{24}$/);
  } finally {
    await gw.close();
  }
});
