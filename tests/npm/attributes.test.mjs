// Requests with resource attributes take the package's encoded fast path: strings, booleans,
// 32-bit integers and lists of those cross into wasm as interned numbers. Whatever a caller
// sends — values of every type, containers that are not plain objects, attribute names that
// change from one request to the next, more names than the interning table holds — the
// decision (or the error) is exactly the general path's.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import path from "node:path";
import { installPackage, root } from "./install.mjs";
import { buildBundles, mint } from "../gateway/harness.mjs";

let pkg, esm, bundle, trusted, tokens;

/** client-a of the integration platform, with conditions and selectors on resource attributes. */
function withAttributeRules(source) {
  const org = source.orgs.find((o) => o.id === "client-a");
  const deny = (id, permissions, when) => ({ id, effect: "deny", everyone: true, permissions, when });
  org.overrides = [
    ...(org.overrides ?? []),
    deny("legal-hold-freezes-edits", ["workflow:edit"], { in: ["legal-hold", { attr: "resource.tags" }] }),
    deny("archived-is-hidden", ["workflow:read"], { eq: [{ attr: "resource.archived" }, true] }),
    deny("level-5-never-deploys", ["bundle:deploy"], { eq: [{ attr: "resource.level" }, 5] }),
    deny("all-regulated-tags", ["workflow:test"], { in: [{ attr: "resource.tags" }, ["gdpr", "sox", "legal-hold"]] }),
    { id: "eu-readers", effect: "allow", user: "tess", permissions: ["billing:read"],
      when: { eq: [{ attr: "resource.region" }, "eu"] } },
    { id: "us-builds-stop", effect: "deny", everyone: true, permissions: ["workflow:build"],
      resource: { type: "workflow", attrs: { region: "us" } } },
  ];
}

before(async () => {
  const installed = installPackage();
  pkg = installed.cjs();
  esm = await installed.esm();
  await esm.default();
  bundle = buildBundles("examples/integration-platform.json", 3, { edit: withAttributeRules }).get("client-a");
  trusted = JSON.parse(readFileSync(path.join(root, "examples/keys/bundle-signing.public.jwk"), "utf8"));
  tokens = [
    await mint({ sub: "dana", env: "client-a-dev" }),
    await mint({ sub: "tess", env: "client-a-prod" }),
    await mint({ sub: "adam", env: "client-a-prod" }),
    await mint({ kind: "orgauth", sub: "olivia" }),
  ];
});

/** A small deterministic generator (xorshift32). */
function random(seed) {
  let x = seed >>> 0 || 1;
  const next = () => {
    x ^= x << 13; x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5; x >>>= 0;
    return x / 2 ** 32;
  };
  const pick = (items) => items[Math.floor(next() * items.length)];
  return { next, pick };
}

const STRINGS = ["eu", "us", "legal-hold", "gdpr", "sox", "", "é-ü", "x".repeat(300), "wf|\u001f|odd", "__proto__"];
const ODD = [2 ** 31, -(2 ** 31) - 1, 2 ** 53, 1.5, NaN, -0, null, undefined, {}, () => 1, 10n];
const SCALARS = [0, 1, -1, 5, 2 ** 31 - 1, -(2 ** 31), true, false];

/** A random attribute value: mostly what the fast path encodes, sometimes anything else. */
function value(r, depth = 0) {
  const roll = r.next();
  if (roll < 0.35) return r.pick(STRINGS);
  if (roll < 0.55) return r.pick(SCALARS);
  if (roll < 0.65) return r.pick(ODD);
  if (depth > 0) return r.pick(STRINGS);
  const len = Math.floor(r.next() * 7);
  const list = Array.from({ length: len }, () => (r.next() < 0.1 ? value(r, 1) : r.pick([...STRINGS, ...SCALARS])));
  if (r.next() < 0.05) list.length += 1; // a hole
  if (r.next() < 0.05) list.push([1]); // a nested list
  return list;
}

const NAMES = ["region", "tags", "archived", "level", "owner", "factory"];

/** Random resource attributes: usually a plain object, sometimes another container. */
function attributes(r) {
  const roll = r.next();
  if (roll < 0.03) return new Map([["region", "eu"]]);
  if (roll < 0.06) return ["eu"];
  if (roll < 0.08) return r.pick([null, "eu", 7]);
  const attrs = roll < 0.15 ? Object.create(null) : {};
  const count = Math.floor(r.next() * 4);
  for (let i = 0; i < count; i += 1) attrs[r.next() < 0.9 ? r.pick(NAMES) : `n${Math.floor(r.next() * 1e6)}`] = value(r);
  if (r.next() < 0.15) attrs.region = r.pick(["eu", "us"]); // what the region rules look for
  return attrs;
}

// The first six are read by attribute rules; no rule reads attributes for the last three, whose
// requests the fast path sends without them once it has checked that they are well formed.
const ACTIONS = ["workflow:read", "workflow:edit", "workflow:build", "workflow:test", "bundle:deploy", "billing:read",
  "bundle:read", "config:read", "logs:read"];

function request(r) {
  const action = r.pick(ACTIONS);
  const resource = { type: action.split(":")[0], id: `wf-${Math.floor(r.next() * 20)}`, env: r.pick(["client-a-dev", "client-a-prod"]) };
  if (r.next() < 0.85) resource.attrs = attributes(r);
  return { action, resource };
}

/** The decision, or the error's code. */
function outcome(fn) {
  try {
    return fn();
  } catch (e) {
    assert.equal(e.name, "PortcullisError", String(e));
    return { error: e.code };
  }
}

const general = (r) => ({ ...r, context: {} });
const show = (r) => JSON.stringify(r, (_, v) => (v instanceof Map ? { map: [...v] } : typeof v === "bigint" ? `${v}n` : v === undefined ? "undefined" : v));

test("check and authorize with random attributes decide like the general path", () => {
  for (const api of [pkg, esm]) {
    const a = api.Authorizer.fromBundle(bundle, [trusted]);
    const sessions = tokens.map((t) => a.verifyToken(t));
    const r = random(api === pkg ? 7 : 8);
    const seen = new Set();
    for (let i = 0; i < 8_000; i += 1) {
      const session = r.pick(sessions);
      const req = request(r);
      const expected = outcome(() => a.check(session, general(req)));
      assert.deepEqual(outcome(() => a.check(session, req)), expected, show(req));
      seen.add(expected.error ?? expected.rule ?? expected.reason);
      if (i % 10 === 0) {
        const token = tokens[sessions.indexOf(session)];
        assert.deepEqual(outcome(() => a.authorize(token, req)), outcome(() => a.authorize(token, general(req))), show(req));
      }
    }
    // The attribute rules decided some of them, and some requests were refused.
    for (const rule of ["legal-hold-freezes-edits", "archived-is-hidden", "level-5-never-deploys", "all-regulated-tags", "eu-readers", "us-builds-stop", "invalid_argument"]) {
      assert.ok(seen.has(rule), `no request met ${rule}: ${[...seen].join(", ")}`);
    }
  }
});

test("checkMany with random attributes decides like the general path, batch by batch", () => {
  const a = pkg.Authorizer.fromBundle(bundle, [trusted]);
  const session = a.verifyToken(tokens[0]);
  const r = random(11);
  for (let i = 0; i < 400; i += 1) {
    const batch = Array.from({ length: 1 + Math.floor(r.next() * 40) }, () => request(r));
    // Most batches hold only what the fast path encodes, so that it answers them.
    if (i % 4 !== 0) for (const q of batch) if (q.resource.attrs !== undefined) q.resource.attrs = { region: r.pick(STRINGS), tags: [r.pick(STRINGS), r.pick(STRINGS)], level: r.pick([5, -1, 0]), archived: r.pick([true, false]) };
    const expected = outcome(() => a.checkMany(session, batch.map(general)));
    assert.deepEqual(outcome(() => a.checkMany(session, batch)), expected, show(batch));
  }
});

test("attribute names that change between requests, and more names than the table holds", () => {
  const a = pkg.Authorizer.fromBundle(bundle, [trusted]);
  const session = a.verifyToken(tokens[1]);
  const base = { action: "workflow:read", resource: { type: "workflow", id: "wf-1", env: "client-a-prod" } };
  const withAttrs = (attrs) => ({ ...base, resource: { ...base.resource, attrs } });
  const sequence = [
    { region: "eu" }, { region: "us" }, { region: "eu", archived: true }, { archived: true, region: "eu" },
    { archived: false }, {}, { region: ["eu"] }, { region: "eu" }, { tags: ["a", "b", "c"] }, { tags: ["a"] },
    { tags: ["legal-hold", "x", "y", "z", "w"] }, { region: "eu", tags: [], archived: true, level: 5 },
  ];
  for (let round = 0; round < 3; round += 1) {
    for (const attrs of sequence) {
      const req = withAttrs(attrs);
      assert.deepEqual(a.check(session, req), a.check(session, general(req)), show(req));
    }
  }
  // Distinct attribute values by the thousand: the interning table starts over on both sides.
  for (let i = 0; i < 3 * a.atomCapacity; i += 1) {
    const req = withAttrs(i % 2 ? { region: i % 3 ? "eu" : `r-${i}`, owner: `u-${i}` } : { tags: [`t-${i}`, `t-${i + 1}`, "eu"] });
    assert.deepEqual(a.check(session, req), a.check(session, general(req)), show(req));
  }
});

test("own properties only: a polluted Object.prototype adds no attribute", () => {
  const a = pkg.Authorizer.fromBundle(bundle, [trusted]);
  const session = a.verifyToken(tokens[1]);
  const req = { action: "workflow:read", resource: { type: "workflow", id: "wf-1", env: "client-a-prod", attrs: { level: 1 } } };
  const before = a.check(session, req);
  Object.prototype.region = "eu";
  try {
    assert.deepEqual(a.check(session, req), before);
    assert.deepEqual(a.check(session, req), a.check(session, general(req)));
  } finally {
    delete Object.prototype.region;
  }
});
