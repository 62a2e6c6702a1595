// The management API in workerd with real D1 and KV: the seed's three calls with their exact
// shapes, the delegation matrix, other organizations, expired and revoked admin tokens, bad
// input of every kind (D1 unchanged), and 50 concurrent writes to one organization.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { after, before, describe, test } from "node:test";
import { OPERATOR_SECRET, mint, root, startControlPlane } from "./harness.mjs";

const cli = path.join(root, "target/debug/portcullis");
const run = promisify(execFile);

let cp;
before(async () => {
  cp = await startControlPlane();
  await cp.importPolicy("northwind", "examples/access-levels.json");
  await cp.importPolicy("client-a", "examples/integration-platform.json");
});
after(async () => { await cp?.close(); });

const sue = () => mint({ sub: "sue" }); // SuperAdmin
const jane = () => mint({ sub: "jane" }); // Admin

/** Everything D1 holds that a refused call must leave alone. */
async function snapshot() {
  const tables = ["orgs", "users", "bindings", "group_members", "overrides", "revoked_subjects", "audit"];
  const out = {};
  for (const t of tables) out[t] = await cp.rows(`SELECT * FROM ${t} ORDER BY rowid`);
  return out;
}

describe("the seed's three calls", () => {
  test("POST /iam/users with [accessLevel, userId] adds the user and publishes the next version", async () => {
    const before = await cp.bundle("northwind");
    const res = await cp.call("POST", "/iam/users", { token: await sue(), body: ["Admin", "jane.doe@example.com"] });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    assert.deepEqual(res.body, { message: "User added successfully", userId: "jane.doe@example.com", accessLevel: "Admin" });
    const version = Number(res.headers.get("x-portcullis-bundle-version"));
    assert.equal(version, before.header.version + 1);
    const after = await cp.bundle("northwind");
    assert.equal(after.header.version, version);
    assert.equal(after.members, before.members + 1);
    const [audit] = await cp.rows("SELECT * FROM audit WHERE org = 'northwind' AND version = ?", version);
    assert.equal(audit.actor, "sue");
    assert.equal(audit.action, "user.add");
    assert.equal(audit.target, "jane.doe@example.com");
  });

  test("GET /iam/users/{user} answers the seed's fields", async () => {
    const res = await cp.call("GET", "/iam/users/jane.doe@example.com", { token: await jane() });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.deepEqual(Object.keys(res.body).sort(), ["accessLevel", "activity", "created", "createdBy", "lastActive",
      "lastModified", "lastModifiedBy", "managedResources", "status", "userId"].sort());
    assert.equal(res.body.userId, "jane.doe@example.com");
    assert.equal(res.body.accessLevel, "Admin");
    assert.equal(res.body.createdBy, "sue");
    assert.equal(res.body.lastModifiedBy, "sue");
    assert.equal(res.body.status, "active");
    assert.match(res.body.created, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    assert.ok(Math.abs(Date.parse(res.body.created) - Date.now()) < 60_000);
    assert.deepEqual(Object.keys(res.body.activity).sort(), ["lastLogin", "lastOperations", "loginCount"]);
  });

  test("Bob's resource-specific grants are his managed resources, by type", async () => {
    const res = await cp.call("GET", "/iam/users/bob", { token: await jane() });
    assert.equal(res.status, 200);
    assert.equal(res.body.accessLevel, "Write");
    assert.deepEqual(res.body.managedResources, { template: 2 });
  });

  test("DELETE /iam/users/{user} removes the user and revokes her tokens in the next bundle", async () => {
    const token = await mint({ sub: "jane.doe@example.com" });
    const before = await cp.bundle("northwind");
    const res = await cp.call("DELETE", "/iam/users/jane.doe@example.com", { token: await sue() });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.deepEqual(res.body, { message: "User removed successfully", userId: "jane.doe@example.com" });
    const after = await cp.bundle("northwind");
    assert.equal(after.header.version, before.header.version + 1);
    assert.equal(after.members, before.members - 1);
    assert.equal(after.revoked_subjects, before.revoked_subjects + 1);
    const gone = await cp.call("GET", "/iam/users/jane.doe@example.com", { token: await jane() });
    assert.equal(gone.status, 404);
    assert.equal(gone.body.error.code, "unknown_user");
    // Her own token no longer opens the API.
    const hers = await cp.call("GET", "/iam/users", { token });
    assert.equal(hers.status, 403);
    assert.equal(hers.body.error.code, "revoked");
  });

  test("the object form and the list", async () => {
    const res = await cp.call("POST", "/iam/users", { token: await jane(), body: { userId: "kim@example.com", accessLevel: "Read", name: "Kim" } });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    assert.deepEqual(res.body, { message: "User added successfully", userId: "kim@example.com", accessLevel: "Read" });
    const list = await cp.call("GET", "/iam/users", { token: await jane() });
    assert.equal(list.status, 200);
    assert.ok(list.body.users.some((u) => u.userId === "kim@example.com" && u.accessLevel === "Read" && u.status === "active"));
    assert.equal(list.body.total, list.body.users.length);
  });
});

describe("delegation: SuperAdmin, Admin, Write, Read × add, change, remove × every level", () => {
  const levels = ["SuperAdmin", "Admin", "Write", "Read", "None"];
  const actors = { sue: "SuperAdmin", jane: "Admin", bob: "Write", alice: "Read" };
  const assignable = { SuperAdmin: levels, Admin: ["Write", "Read", "None"], Write: [], Read: [] };
  const manages = { SuperAdmin: true, Admin: true, Write: false, Read: false };
  let n = 0;
  const fresh = async (level) => {
    const id = `target-${++n}@example.com`;
    const res = await cp.call("POST", "/iam/users", { token: await sue(), body: [level, id] });
    assert.equal(res.status, 201);
    return id;
  };
  for (const [actor, role] of Object.entries(actors)) {
    for (const level of levels) {
      const may = manages[role] && assignable[role].includes(level);
      test(`${role} ${may ? "may" : "may not"} add, remove or change a ${level} user`, async () => {
        const token = await mint({ sub: actor });
        const expectCode = !manages[role] ? "no_matching_grant" : "no_matching_grant";
        // add
        const id = `new-${++n}@example.com`;
        const add = await cp.call("POST", "/iam/users", { token, body: [level, id] });
        assert.equal(add.status, may ? 201 : 403, `${actor} add ${level}: ${JSON.stringify(add.body)}`);
        if (!may) {
          assert.equal(add.body.error.code, expectCode);
          assert.equal(add.body.error.reason, "no_matching_grant");
          if (manages[role]) assert.equal(add.body.error.detail, "role_not_assignable");
        }
        // remove
        const target = await fresh(level);
        const del = await cp.call("DELETE", `/iam/users/${target}`, { token });
        assert.equal(del.status, may ? 200 : 403, `${actor} remove ${level}: ${JSON.stringify(del.body)}`);
        // Removing a user removes their role: one the actor may not assign is refused.
        if (!may && manages[role]) assert.equal(del.body.error.detail, "role_not_assignable");
        // change: from this level to Read, and from Read to this level
        for (const [from, to] of [[level, "Read"], ["Read", level]]) {
          const t = await fresh(from);
          const allowed = manages[role] && assignable[role].includes(from) && assignable[role].includes(to);
          const ch = await cp.call("PATCH", `/iam/users/${t}`, { token, body: { accessLevel: to } });
          assert.equal(ch.status, allowed ? 200 : 403, `${actor} change ${from}→${to}: ${JSON.stringify(ch.body)}`);
          const now = await cp.call("GET", `/iam/users/${t}`, { token: await sue() });
          assert.equal(now.body.accessLevel, allowed ? to : from);
        }
      });
    }
  }
});

describe("tokens", () => {
  test("a token of another organization on this one's path is cross_tenant", async () => {
    const token = await mint({ sub: "carol", org: "client-a", iss: "https://idp.integrations.example", aud: "https://api.integrations.example" });
    const res = await cp.call("GET", "/orgs/northwind/iam/users", { token });
    assert.equal(res.status, 403, JSON.stringify(res.body));
    assert.equal(res.body.error.code, "cross_tenant");
    const own = await cp.call("GET", "/orgs/client-a/me", { token });
    assert.notEqual(own.body?.error?.code, "cross_tenant");
  });

  test("expired, unsigned, EnvAuth and missing tokens are refused", async () => {
    const expired = await mint({ sub: "sue", ttl: -120, age: 600 });
    let res = await cp.call("GET", "/iam/users", { token: expired });
    assert.equal(res.status, 401);
    assert.equal(res.body.error.code, "invalid_token");
    assert.match(res.headers.get("www-authenticate"), /invalid_token/);
    const tampered = (await sue()).slice(0, -4) + "AAAA";
    res = await cp.call("GET", "/iam/users", { token: tampered });
    assert.equal(res.status, 401);
    res = await cp.call("GET", "/iam/users", {});
    assert.equal(res.status, 401);
    res = await cp.call("GET", "/iam/users", { token: await mint({ kind: "envauth", sub: "sue", env: "nw-staging" }) });
    assert.equal(res.status, 403);
    assert.equal(res.body.error.code, "orgauth_required");
  });

  test("a revoked admin token is refused with revoked", async () => {
    await cp.importPolicy("northwind", "examples/access-levels.json", (s) => {
      s.orgs[0].revocations = { token_ids: ["revoked-admin-token"] };
    });
    const res = await cp.call("POST", "/iam/users", { token: await mint({ sub: "sue", jti: "revoked-admin-token" }), body: ["Read", "x@example.com"] });
    assert.equal(res.status, 403);
    assert.equal(res.body.error.code, "revoked");
  });
});

describe("bad input is 400 with a code and writes nothing", () => {
  const cases = [
    ["malformed JSON", "{\"userId\": ", "invalid_json", 400],
    ["an empty body", "", "empty_body", 400],
    ["a number", "42", "invalid_field", 400],
    ["an array of one", "[\"Read\"]", "missing_field", 400],
    ["an array of three", "[\"Read\", \"a@example.com\", \"b\"]", "invalid_field", 400],
    ["a number for the user id", "[\"Read\", 7]", "invalid_field", 400],
    ["an object for the access level", "{\"userId\": \"a@example.com\", \"accessLevel\": {}}", "invalid_field", 400],
    ["an unknown field", "{\"userId\": \"a@example.com\", \"accessLevel\": \"Read\", \"admin\": true}", "unknown_field", 400],
    ["a missing field", "{\"accessLevel\": \"Read\"}", "missing_field", 400],
    ["a duplicate field", "{\"userId\": \"a@example.com\", \"accessLevel\": \"Read\", \"accessLevel\": \"SuperAdmin\"}", "invalid_field", 400],
    ["an unknown role", "[\"Owner\", \"a@example.com\"]", "unknown_role", 400],
    ["a control character in the id", "[\"Read\", \"a\\u0000b@example.com\"]", "invalid_field", 400],
    ["a newline in the id", "[\"Read\", \"a\\nb@example.com\"]", "invalid_field", 400],
    ["white space in the id", "[\"Read\", \"a b@example.com\"]", "invalid_field", 400],
    ["an empty id", "[\"Read\", \"\"]", "invalid_field", 400],
    ["an id of 300 bytes", JSON.stringify(["Read", "x".repeat(300)]), "invalid_field", 400],
    ["an oversized body", JSON.stringify({ userId: "a@example.com", accessLevel: "Read", name: "x".repeat(20_000) }), "body_too_large", 413],
    ["an existing user", "[\"Read\", \"bob\"]", "user_exists", 409],
  ];
  for (const [what, raw, code, status] of cases) {
    test(what, async () => {
      const before = await snapshot();
      const res = await cp.call("POST", "/iam/users", { token: await sue(), raw, headers: { "content-type": "application/json" } });
      assert.equal(res.status, status, JSON.stringify(res.body));
      assert.equal(res.body.error.code, code, JSON.stringify(res.body));
      assert.deepEqual(await snapshot(), before);
    });
  }

  test("bad paths and methods", async () => {
    const token = await sue();
    const before = await snapshot();
    for (const [method, p, status, code] of [
      ["DELETE", "/iam/users/a%00b", 400, "invalid_field"],
      ["DELETE", "/iam/users/a%2Fb", 400, "invalid_field"],
      ["DELETE", "/iam/users/%zz", 400, "invalid_field"],
      ["DELETE", "/iam/users/nobody", 404, "unknown_user"],
      ["PUT", "/iam/users", 405, "method_not_allowed"],
      ["GET", "/iam/nothing", 404, "not_found"],
      ["PUT", "/orgs/northwind/iam/import", 401, "invalid_token"],
    ]) {
      const res = await cp.call(method, p, { token });
      assert.equal(res.status, status, `${method} ${p}: ${JSON.stringify(res.body)}`);
      assert.equal(res.body.error.code, code);
    }
    assert.deepEqual(await snapshot(), before);
  });
});

describe("concurrency", () => {
  test("50 concurrent writes to one organization: 50 audit rows, strictly increasing versions, all 50 in the bundle", async () => {
    const token = await sue();
    const start = (await cp.bundle("northwind")).header.version;
    const members = (await cp.bundle("northwind")).members;
    const answers = await Promise.all(Array.from({ length: 50 }, (_, i) =>
      cp.call("POST", "/iam/users", { token, body: ["Read", `burst-${i}@example.com`] })));
    for (const a of answers) assert.equal(a.status, 201, JSON.stringify(a.body));
    const versions = answers.map((a) => Number(a.headers.get("x-portcullis-bundle-version"))).sort((a, b) => a - b);
    assert.deepEqual(versions, Array.from({ length: 50 }, (_, i) => start + 1 + i));
    const audit = await cp.rows("SELECT version, target FROM audit WHERE org = 'northwind' AND version > ? ORDER BY version", start);
    assert.equal(audit.length, 50);
    assert.deepEqual(audit.map((r) => r.version), versions);
    assert.deepEqual(new Set(audit.map((r) => r.target)), new Set(Array.from({ length: 50 }, (_, i) => `burst-${i}@example.com`)));
    const bundle = await cp.bundle("northwind");
    assert.equal(bundle.header.version, start + 50);
    assert.equal(bundle.members, members + 50);
  });

  test("a KV write that fails is retried and published", async () => {
    cp.faults.failPuts = 2;
    const res = await cp.call("POST", "/iam/users", { token: await sue(), body: ["Read", "retried@example.com"] });
    assert.equal(res.status, 201);
    assert.equal(res.headers.get("x-portcullis-publish"), null);
    assert.equal(cp.faults.failPuts, 0);
    assert.equal((await cp.bundle("northwind")).header.version, Number(res.headers.get("x-portcullis-bundle-version")));
  });

  test("a change whose KV writes all fail is acknowledged, and the cron trigger publishes it", async () => {
    cp.faults.failPuts = 1000;
    const res = await cp.call("POST", "/iam/users", { token: await sue(), body: ["Read", "pending@example.com"] });
    assert.equal(res.status, 201);
    assert.equal(res.headers.get("x-portcullis-publish"), "pending");
    const version = Number(res.headers.get("x-portcullis-bundle-version"));
    assert.equal((await cp.bundle("northwind")).header.version, version - 1);
    cp.faults.failPuts = 0;
    await cp.scheduled();
    assert.equal((await cp.bundle("northwind")).header.version, version);
    const [org] = await cp.rows("SELECT version, published FROM orgs WHERE id = 'northwind'");
    assert.deepEqual(org, { version, published: version });
  });
});

describe("portcullis admin: a git-based workflow", () => {
  test("export the organization to a file, edit it, import it back; the bundle follows", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "portcullis-admin-"));
    const file = path.join(dir, "northwind.json");
    writeFileSync(path.join(dir, "sue.jwt"), await sue());
    await run(cli, ["admin", "export", "--url", cp.url, "--org", "northwind", "--token", `@${path.join(dir, "sue.jwt")}`, "--out", file]);
    const exported = JSON.parse(readFileSync(file, "utf8"));
    assert.equal(exported.orgs.length, 1);
    assert.ok(exported.orgs[0].users.some((u) => u.id === "bob"));
    // The export is a policy file the CLI reads.
    await run(cli, ["policy", "check", file]);
    exported.orgs[0].users.push({ id: "from-git@example.com" });
    exported.orgs[0].bindings.push({ role: "Read", user: "from-git@example.com" });
    writeFileSync(file, JSON.stringify(exported));
    const before = await cp.bundle("northwind");
    const { stdout } = await run(cli, ["--json", "admin", "import", file, "--url", cp.url, "--org", "northwind"],
      { env: { ...process.env, PORTCULLIS_OPERATOR_SECRET: OPERATOR_SECRET } });
    const answer = JSON.parse(stdout);
    assert.equal(answer.version, before.header.version + 1);
    const after = await cp.bundle("northwind");
    assert.equal(after.header.version, answer.version);
    assert.equal(after.members, before.members + 1);
    // A wrong secret is refused, and says why.
    const refused = await run(cli, ["admin", "import", file, "--url", cp.url, "--org", "northwind"],
      { env: { ...process.env, PORTCULLIS_OPERATOR_SECRET: "wrong" } }).catch((e) => e);
    assert.equal(refused.code, 2);
    assert.match(refused.stderr, /401 invalid_token/);
  });
});
