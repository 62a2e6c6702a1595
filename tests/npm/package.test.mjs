// The npm package, installed from its tarball into a fresh project: CommonJS and ESM, the
// shared test vectors, every reason code, batches, permissions, explain and typed errors.
import { test, before } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import path from "node:path";
import { installPackage, root } from "./install.mjs";
import { buildBundles, mint } from "../gateway/harness.mjs";

let pkg, esm, bundles, trusted;
const now = () => Math.floor(Date.now() / 1000);

before(async () => {
  const installed = installPackage();
  pkg = installed.cjs();
  esm = await installed.esm();
  await esm.default();
  bundles = buildBundles("examples/integration-platform.json", 3);
  trusted = JSON.parse(readFileSync(path.join(root, "examples/keys/bundle-signing.public.jwk"), "utf8"));
});

test("CommonJS and ESM entries expose the same API", () => {
  for (const name of ["Authorizer", "Session", "compilePolicy", "initCompiler"]) {
    assert.equal(typeof pkg[name], "function", `cjs ${name}`);
    assert.equal(typeof esm[name], "function", `esm ${name}`);
  }
  const a = esm.Authorizer.fromBundle(bundles.get("client-a"), { keys: [trusted] });
  assert.equal(a.org, "client-a");
  assert.equal(a.version, 3);
  assert.equal(a.provenance, "signed_bundle");
});

test("the shared decision and bundle vectors are reproduced", () => {
  const v = JSON.parse(readFileSync(path.join(root, "tests/vectors/decisions.json"), "utf8"));
  let n = 0;
  for (const c of v.cases) {
    const bundle = v.bundles.find((b) => b.org === c.bundle);
    const a = pkg.Authorizer.fromBundle(Buffer.from(bundle.bundle, "base64"), v.bundle_keys, { now: c.now });
    const d = a.authorize(c.token, c.request, { now: c.now });
    assert.equal(d.reason, c.expect.reason, c.name);
    assert.equal(d.allowed, c.expect.allowed, c.name);
    assert.equal(d.rule ?? null, c.expect.rule, c.name);
    assert.equal(d.detail ?? null, c.expect.detail, c.name);
    n++;
  }
  assert.ok(n >= 20);
  const b = JSON.parse(readFileSync(path.join(root, "tests/vectors/bundles.json"), "utf8"));
  for (const c of b.cases) {
    let got = "ok";
    try {
      pkg.Authorizer.fromBundle(Buffer.from(c.bundle, "base64"), b.bundle_keys, { now: c.now, minVersion: c.min_version });
    } catch (e) {
      assert.equal(e.name, "PortcullisError");
      got = e.code;
    }
    assert.equal(got, c.expect, c.name);
  }
});

test("the packed fast path of check, checkMany and authorize decides exactly like the general path", () => {
  const v = JSON.parse(readFileSync(path.join(root, "tests/vectors/decisions.json"), "utf8"));
  for (const api of [pkg, esm]) {
    let plain = 0;
    for (const c of v.cases) {
      const bundle = v.bundles.find((b) => b.org === c.bundle);
      const a = api.Authorizer.fromBundle(Buffer.from(bundle.bundle, "base64"), v.bundle_keys, { now: c.now });
      // authorize: the same decision on both paths, for good and bad tokens, twice (the
      // second time from the verified-token cache), and a cached token still expires.
      for (let i = 0; i < 2; i += 1) {
        assert.deepEqual(a.authorize(c.token, c.request, { now: c.now }),
          a.authorize(c.token, { ...c.request, context: {} }, { now: c.now }), `${c.name} (authorize)`);
      }
      const later = { now: c.now + 10 * 365 * 86400 };
      const expired = a.authorize(c.token, c.request, later);
      assert.equal(expired.reason, "invalid_token", c.name);
      assert.deepEqual(expired, a.authorize(c.token, { ...c.request, context: {} }, later), c.name);
      let session;
      try {
        session = a.verifyToken(c.token, { now: c.now });
      } catch {
        continue;
      }
      // Requests with only action and resource type, id, env and org take the fast path; a
      // `context` (even empty) sends the same request down the general one.
      const general = { ...c.request, context: {} };
      const variants = [
        c.request,
        { action: c.request.action, resource: { ...c.request.resource, id: "wf|\u001f|odd" } },
        { action: c.request.action, resource: { ...c.request.resource, org: "someone-else" } },
        { action: "not:declared", resource: c.request.resource },
      ];
      for (const r of variants) {
        const expected = a.check(session, { ...r, context: {} }, { now: c.now });
        assert.deepEqual(a.check(session, r, { now: c.now }), expected, `${c.name}: ${JSON.stringify(r)}`);
      }
      assert.deepEqual(a.check(session, c.request, { now: c.now }), a.check(session, general, { now: c.now }), c.name);
      const many = a.checkMany(session, variants, { now: c.now });
      assert.deepEqual(many, variants.map((r) => a.check(session, { ...r, context: {} }, { now: c.now })), c.name);
      if (!("attrs" in (c.request.resource ?? {}))) plain += 1;
    }
    assert.ok(plain >= 10);
  }
});

test("interned names: thousands of distinct names and one session under two authorizers decide like the general path", async () => {
  const a = pkg.Authorizer.fromBundle(bundles.get("client-a"), [trusted]);
  const b = pkg.Authorizer.fromBundle(bundles.get("client-b"), [trusted]);
  const dana = a.verifyToken(await mint({ sub: "dana", env: "client-a-dev" }));
  const adam = a.verifyToken(await mint({ sub: "adam", env: "client-a-prod" }));
  // A scoped token: its decisions read the action's text, not only its permission.
  const scoped = a.verifyToken(await mint({ sub: "dana", env: "client-a-dev", scope: "workflow:read" }));
  const general = (r) => ({ ...r, context: {} });
  // More names than one authorizer interns (its atomCapacity): the table starts over on both sides.
  assert.ok(a.atomCapacity > 0 && a.atomCapacity < 10_000, `atomCapacity ${a.atomCapacity}`);
  for (let i = 0; i < 10_000; i += 1) {
    const session = i % 3 === 0 ? adam : i % 5 === 0 ? scoped : dana;
    const env = i % 3 === 0 ? "client-a-prod" : i % 7 === 0 ? "client-a-prod" : "client-a-dev";
    const r = { action: i % 2 ? "workflow:edit" : "workflow:read", resource: { type: "workflow", id: `wf-${i}`, env } };
    assert.deepEqual(a.check(session, r), a.check(session, general(r)), JSON.stringify(r));
  }
  // A session keeps its facts per authorizer: under another tenant's bundle it is cross_tenant.
  const r = { action: "workflow:read", resource: { type: "workflow", id: "wf-1", env: "client-a-dev" } };
  for (let i = 0; i < 3; i += 1) {
    assert.equal(a.check(dana, r).reason, "allowed");
    assert.equal(b.check(dana, r).reason, "cross_tenant");
    assert.deepEqual(b.check(dana, r), b.check(dana, general(r)));
  }
});

test("every reason code, with tokens minted by jose", async () => {
  const a = pkg.Authorizer.fromBundle(bundles.get("client-a"), [trusted]);
  const req = (action, env, extra = {}) => ({ action, resource: { type: action.split(":")[0], id: "wf-1", env, ...extra } });
  const cases = [
    [{ sub: "dana", env: "client-a-dev" }, req("workflow:edit", "client-a-dev"), "allowed"],
    [{ sub: "dana", env: "client-a-dev", jti: "leaked-token-1" }, req("workflow:read", "client-a-dev"), "revoked"],
    [{ sub: "dana", env: "client-a-dev" }, req("workflow:read", "client-b-dev"), "cross_tenant"],
    [{ sub: "dana", env: "client-a-dev" }, req("workflow:read", "client-a-prod"), "cross_environment"],
    [{ kind: "orgauth", sub: "adam" }, req("logs:read", "client-a-dev"), "env_token_required"],
    [{ sub: "mallory", env: "client-a-dev" }, req("workflow:read", "client-a-dev"), "not_a_member"],
    [{ sub: "adam", env: "client-a-prod" }, req("workflow:edit", "client-a-prod"), "explicit_deny"],
    [{ sub: "dana", env: "client-a-dev", scope: "workflow:read" }, req("workflow:edit", "client-a-dev"), "outside_token_scope"],
    [{ sub: "tess", env: "client-a-prod" }, req("workflow:read", "client-a-prod"), "no_matching_grant"],
    [{ sub: "dana", env: "client-a-dev", ttl: -100, age: 700 }, req("workflow:read", "client-a-dev"), "invalid_token"],
  ];
  const seen = new Set();
  for (const [claims, request, reason] of cases) {
    const d = a.authorize(await mint(claims), request);
    assert.equal(d.reason, reason, JSON.stringify(claims));
    assert.equal(d.allowed, reason === "allowed");
    seen.add(d.reason);
  }
  assert.equal(seen.size, 10);
});

test("sessions: checkMany, permissions and explain", async () => {
  const a = esm.Authorizer.fromBundle(bundles.get("client-a"), trusted);
  const session = a.verifyToken(await mint({ sub: "ivan", env: "client-a-prod" }));
  assert.equal(session.sub, "ivan");
  assert.equal(session.kind, "envauth");
  assert.equal(session.env, "client-a-prod");
  assert.equal(session.toJSON().org, "client-a");
  const actions = ["config:update", "credential:write", "bundle:deploy", "workflow:edit", "workflow:read"];
  const many = a.checkMany(session, actions.map((action) => ({ action, resource: { type: action.split(":")[0], env: "client-a-prod" } })));
  assert.deepEqual(many.map((d) => d.reason), ["allowed", "allowed", "allowed", "explicit_deny", "allowed"]);
  const perms = a.permissions(session, "client-a-prod");
  assert.deepEqual(perms.roles.map((r) => r.role), ["implementation_specialist"]);
  assert.ok(perms.permissions.includes("config:update"));
  assert.ok(!perms.permissions.includes("workflow:edit"));
  const x = a.explain(session, { action: "workflow:edit", resource: { type: "workflow", env: "client-a-prod" } });
  assert.equal(x.decision.reason, "explicit_deny");
  assert.ok(x.trace.some((s) => s.check === "deny" && s.outcome === "match" && s.rule === "prod-workflows-change-by-deploy-only"));
  assert.throws(() => a.permissions(session, "client-a-dev"), (e) => e.code === "cross_environment");
  // At most 1,000 requests a batch: more is refused whole, before any is decided.
  const read = { action: "workflow:read", resource: { type: "workflow", env: "client-a-prod" } };
  assert.equal(a.checkMany(session, Array(1000).fill(read)).length, 1000);
  assert.throws(() => a.checkMany(session, Array(1001).fill(read)),
    (e) => e.name === "PortcullisError" && e.code === "batch_too_large");
});

test("errors are PortcullisErrors with stable codes; a deny never throws", async () => {
  const a = pkg.Authorizer.fromBundle(bundles.get("client-a"), trusted);
  const expired = await mint({ sub: "dana", env: "client-a-dev", ttl: -100, age: 700 });
  assert.throws(() => a.verifyToken(expired), (e) => e instanceof Error && e.name === "PortcullisError" && e.code === "token_expired");
  assert.throws(() => a.verifyToken("a.b.c"), (e) => e.code === "token_malformed" && e.detail === "not_base64url");
  const good = await mint({ sub: "dana", env: "client-a-dev" });
  // A token error names what it is about: here the empty signature segment.
  assert.throws(() => a.verifyToken(`${good.split(".").slice(0, 2).join(".")}.`),
    (e) => e.code === "token_malformed" && e.detail === "empty_signature" && e.message === "the signature segment is empty");
  assert.throws(() => a.verifyToken(good, { audience: "https://x.example" }), (e) => e.code === "token_wrong_audience");
  assert.throws(() => pkg.Authorizer.fromBundle(new Uint8Array([1, 2, 3]), trusted), (e) => e.code === "bundle_bad_magic");
  assert.throws(() => pkg.Authorizer.fromBundle(bundles.get("client-a"), { keys: [] }), (e) => e.code === "bundle_unknown_key");
  assert.throws(() => pkg.Authorizer.fromBundle(bundles.get("client-a"), trusted, { minVersion: 4 }), (e) => e.code === "bundle_rollback");
  assert.throws(() => pkg.Authorizer.fromBundle(bundles.get("client-a"), trusted, { now: now() + 7200 }), (e) => e.code === "bundle_expired");
  assert.throws(() => pkg.Authorizer.fromBundle(bundles.get("client-a"), trusted, { now: "soon" }), (e) => e.code === "invalid_argument");
  // Trusted keys: one JWK, a list or a JWKS; anything else is refused by name.
  for (const keys of [trusted, [trusted], { keys: [trusted] }]) assert.equal(pkg.Authorizer.fromBundle(bundles.get("client-a"), keys).org, "client-a");
  for (const keys of [42, "key", null, { keys: "x" }, [42], [{ ...trusted, kid: 7 }], [{ ...trusted, kty: undefined }]]) {
    assert.throws(() => pkg.Authorizer.fromBundle(bundles.get("client-a"), keys), (e) => e.code === "invalid_argument", JSON.stringify(keys));
  }
  const session = a.verifyToken(await mint({ sub: "dana", env: "client-a-dev" }));
  assert.throws(() => a.check(session, { action: "workflow:read" }), (e) => e.code === "invalid_argument");
  // authorize reads the request before the token: a malformed request is an error whatever
  // the token, before and after the token was verified once.
  const bad = { action: "workflow:read", resource: { type: 5, env: "client-a-dev" } };
  assert.throws(() => a.authorize("a.b.c", bad), (e) => e.code === "invalid_argument");
  for (let i = 0; i < 2; i += 1) assert.throws(() => a.authorize(good, bad), (e) => e.code === "invalid_argument");
  // A refused token is a decision that says what is wrong with it, on both paths.
  const emptySignature = `${good.split(".").slice(0, 2).join(".")}.`;
  for (const request of [{ action: "workflow:read", resource: { type: "workflow", id: "wf-1", env: "client-a-dev" } },
    { action: "workflow:read", resource: { type: "workflow", id: "wf-1", env: "client-a-dev", attrs: { tier: "gold" } } }]) {
    const d = a.authorize(emptySignature, request);
    assert.deepEqual([d.reason, d.detail, d.token_error],
      ["invalid_token", "token_malformed", { code: "token_malformed", detail: "empty_signature", message: "the signature segment is empty" }]);
  }
  const withAttrs = { action: "workflow:read", resource: { type: "workflow", id: "wf-1", env: "client-a-dev", attrs: { tier: "gold" } } };
  const dana = await mint({ sub: "dana", env: "client-a-dev" });
  assert.deepEqual(a.authorize(dana, withAttrs), a.check(a.verifyToken(dana), withAttrs));
  assert.deepEqual(a.authorize(dana, withAttrs), a.check(a.verifyToken(dana), withAttrs));
  assert.equal(a.check(session, { action: "workflow:read", resource: { type: "workflow", env: "client-b-dev" } }).reason, "cross_tenant");
});

test("key rotation: while both keys are trusted, bundles signed by either load", async () => {
  const { execFileSync } = await import("node:child_process");
  const { mkdtempSync } = await import("node:fs");
  const { tmpdir } = await import("node:os");
  const dir = mkdtempSync(path.join(tmpdir(), "portcullis-rotation-"));
  const cli = path.join(root, "target/debug/portcullis");
  execFileSync(cli, ["keygen", "--kid", "bundle-2027", "--private", path.join(dir, "new.jwk"), "--public", path.join(dir, "new.pub.jwk")]);
  execFileSync(cli, ["bundle", "build", path.join(root, "examples/integration-platform.json"), "--key", path.join(dir, "new.jwk"),
    "--org", "client-a", "--bundle-version", "4", "--out", path.join(dir, "client-a.bundle")]);
  const signedByNew = readFileSync(path.join(dir, "client-a.bundle"));
  const next = JSON.parse(readFileSync(path.join(dir, "new.pub.jwk"), "utf8"));
  const both = { keys: [trusted, next] };
  assert.equal(pkg.Authorizer.fromBundle(bundles.get("client-a"), both).version, 3);
  assert.equal(pkg.Authorizer.fromBundle(signedByNew, both).version, 4);
  assert.throws(() => pkg.Authorizer.fromBundle(signedByNew, trusted), (e) => e.code === "bundle_unknown_key");
  assert.throws(() => pkg.Authorizer.fromBundle(bundles.get("client-a"), next), (e) => e.code === "bundle_unknown_key");
});

test("compilePolicy makes an unsigned preview and reports compile errors with pointers", async () => {
  const source = readFileSync(path.join(root, "examples/access-levels.json"), "utf8");
  const preview = pkg.compilePolicy(source);
  assert.equal(preview.provenance, "unsigned_preview");
  assert.equal(preview.org, "northwind");
  try {
    pkg.compilePolicy(source.replace('"role": "Admin", "user": "jane"', '"role": "Admn", "user": "jane"'));
    assert.fail("compiled");
  } catch (e) {
    assert.equal(e.code, "policy_invalid");
    assert.equal(e.name, "PortcullisError");
    assert.ok(e instanceof Error);
    assert.deepEqual(e.errors[0], { pointer: "/orgs/0/bindings/1/role", message: "unknown role `Admn`", hint: "did you mean `Admin`?" });
  }
  assert.throws(() => esm.compilePolicy(source, "nobody"), (e) => e.code === "unknown_org" && /nobody/.test(e.message));
  assert.throws(() => pkg.compilePolicy(42), (e) => e.code === "invalid_argument");
  await esm.initCompiler();
  assert.equal(esm.compilePolicy(source, "northwind").org, "northwind");
});

test("the policy compiler's module is loaded only by compilePolicy", async () => {
  const { execFileSync } = await import("node:child_process");
  const installed = installPackage();
  const script = `
    const pkg = require("portcullis");
    const loaded = () => Object.keys(require.cache).some((f) => f.includes("portcullis_compiler"));
    const before = loaded();
    pkg.compilePolicy(require("fs").readFileSync(${JSON.stringify(path.join(root, "examples/access-levels.json"))}, "utf8"));
    console.log(JSON.stringify({ before, after: loaded() }));`;
  const out = JSON.parse(execFileSync(process.execPath, ["-e", script], { cwd: installed.dir, encoding: "utf8" }));
  assert.deepEqual(out, { before: false, after: true });
});

test("ESM and CommonJS consumers in one process share one instance, whichever loads first", async () => {
  const { execFileSync } = await import("node:child_process");
  const { writeFileSync } = await import("node:fs");
  const installed = installPackage();
  writeFileSync(path.join(installed.dir, "client-a.bundle"), bundles.get("client-a"));
  const policy = JSON.stringify(path.join(root, "examples/access-levels.json"));
  const request = JSON.stringify({ action: "workflow:read", resource: { type: "workflow", id: "wf-1", env: "client-a-dev" } });
  // ESM first: the native ESM entry loads the wasm, decides and compiles a preview; a require
  // in the same process then gets the very same classes.
  writeFileSync(path.join(installed.dir, "esm-first.mjs"), `
    import { readFileSync } from "node:fs";
    import { createRequire } from "node:module";
    import { Authorizer, compilePolicy } from "portcullis";
    const a = Authorizer.fromBundle(readFileSync("client-a.bundle"), [JSON.parse(process.env.TRUSTED)]);
    const d = a.authorize(process.env.TOKEN, ${request});
    const preview = compilePolicy(readFileSync(${policy}, "utf8"));
    const cjs = createRequire(import.meta.url)("portcullis");
    console.log(JSON.stringify({ reason: d.reason, preview: preview.provenance, same: cjs.Authorizer === Authorizer,
      cjsSees: cjs.Authorizer.fromBundle(readFileSync("client-a.bundle"), [JSON.parse(process.env.TRUSTED)]) instanceof Authorizer }));`);
  writeFileSync(path.join(installed.dir, "cjs-first.cjs"), `
    const cjs = require("portcullis");
    import("portcullis").then((esm) => console.log(JSON.stringify({ same: esm.Authorizer === cjs.Authorizer && esm.Session === cjs.Session })));`);
  const env = { ...process.env, TOKEN: await mint({ sub: "dana", env: "client-a-dev" }), TRUSTED: JSON.stringify(trusted) };
  const run = (file) => JSON.parse(execFileSync(process.execPath, [file], { cwd: installed.dir, env, encoding: "utf8" }));
  assert.deepEqual(run("esm-first.mjs"), { reason: "allowed", preview: "unsigned_preview", same: true, cjsSees: true });
  assert.deepEqual(run("cjs-first.cjs"), { same: true });
});

test("the TypeScript declarations type-check a typed usage example", async () => {
  const { execFileSync } = await import("node:child_process");
  const { copyFileSync, writeFileSync } = await import("node:fs");
  const installed = installPackage();
  copyFileSync(path.join(root, "npm/portcullis/examples/usage.ts"), path.join(installed.dir, "usage.ts"));
  writeFileSync(path.join(installed.dir, "tsconfig.json"), JSON.stringify({
    compilerOptions: { strict: true, noEmit: true, target: "es2022", module: "nodenext", moduleResolution: "nodenext", lib: ["es2022", "dom"], noUncheckedIndexedAccess: true, skipLibCheck: false },
    files: ["usage.ts"],
  }));
  execFileSync(path.join(root, "node_modules/.bin/tsc"), ["-p", installed.dir], { stdio: "inherit" });
});

test("the README's Node example runs as written", async () => {
  const { execFileSync } = await import("node:child_process");
  const { readFileSync: read, writeFileSync, copyFileSync } = await import("node:fs");
  const readme = read(path.join(root, "README.md"), "utf8");
  const code = readme.split("```js readme-example\n")[1].split("```")[0];
  assert.ok(code.split("\n").filter(Boolean).length <= 10, "the example stays within 10 lines");
  const installed = installPackage();
  writeFileSync(path.join(installed.dir, "example.mjs"), code);
  writeFileSync(path.join(installed.dir, "client-a.bundle"), bundles.get("client-a"));
  copyFileSync(path.join(root, "examples/keys/bundle-signing.public.jwk"), path.join(installed.dir, "bundle-signing.public.jwk"));
  const token = await mint({ sub: "dana", env: "client-a-dev" });
  const out = execFileSync("node", ["example.mjs"], { cwd: installed.dir, env: { ...process.env, TOKEN: token } }).toString();
  assert.match(out, /allowed: true/);
  assert.match(out, /reason: 'allowed'/);
});

test("a session verified under another version of the bundle is refused on every path", async () => {
  const older = esm.Authorizer.fromBundle(bundles.get("client-a"), { keys: [trusted] });
  const newer = esm.Authorizer.fromBundle(buildBundles("examples/integration-platform.json", 4).get("client-a"), { keys: [trusted] });
  const session = older.verifyToken(await mint({ sub: "dana", env: "client-a-dev" }));
  const request = { action: "workflow:read", resource: { type: "workflow", id: "wf-1", env: "client-a-dev" } };
  assert.equal(older.check(session, request).reason, "allowed");
  const stale = (e) => e.name === "PortcullisError" && e.code === "session_stale";
  assert.throws(() => newer.check(session, request), stale);
  assert.throws(() => newer.check(session, { ...request, context: { ip: "10.0.0.1" } }), stale);
  assert.throws(() => newer.checkMany(session, [request, request]), stale);
  // Neither a refusal nor the older authorizer's acceptance is remembered as the newer one's
  // acceptance: asked again, both answer as before.
  assert.equal(older.check(session, request).reason, "allowed");
  assert.throws(() => newer.check(session, request), stale);
  assert.equal(newer.check(newer.verifyToken(await mint({ sub: "dana", env: "client-a-dev" })), request).reason, "allowed");
});

test("after the interned names start over, a decision reads the names it was asked about", async () => {
  // `workflow:read` is the first name interned. After the table starts over, the first action
  // takes its number: with one offset or the other, that is `workflow:edit`, right after a read.
  for (const offset of [0, 1]) {
    const a = pkg.Authorizer.fromBundle(bundles.get("client-a"), [trusted]);
    const scoped = a.verifyToken(await mint({ sub: "dana", env: "client-a-dev", scope: "workflow:read" }));
    const read = { action: "workflow:read", resource: { type: "workflow", id: "wf-first", env: "client-a-dev" } };
    assert.equal(a.check(scoped, read).reason, "allowed");
    for (let i = 0; i < a.atomCapacity + 10; i += 1) {
      const action = (i + offset) % 2 ? "workflow:edit" : "workflow:read";
      const r = { action, resource: { type: "workflow", id: `wf-${i}`, env: "client-a-dev" } };
      assert.equal(a.check(scoped, r).reason, action === "workflow:read" ? "allowed" : "outside_token_scope", `${offset} ${i}`);
    }
  }
});
