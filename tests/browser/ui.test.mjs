// The browser demo and playground in Debian's Chromium, driven by playwright-core; the pages
// are served from 127.0.0.1 only. Screenshots go to out/screenshots.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { launchChromium } from "./chromium.mjs";
import { serve } from "../../scripts/serve-www.mjs";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const shots = path.join(root, "out/screenshots");
let server, browser, base;

before(async () => {
  mkdirSync(shots, { recursive: true });
  server = await serve(0);
  base = `http://127.0.0.1:${server.address().port}`;
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  await new Promise((r) => server?.close(r) ?? r());
});

async function states(page, user) {
  await page.selectOption("#user", user);
  await page.waitForFunction((u) => document.body.dataset.ready === u, user);
  return page.$$eval("button.control", (buttons) =>
    Object.fromEntries(buttons.map((b) => [b.dataset.action, b.dataset.state])));
}

test("controls are enabled, disabled or hidden per user, from one checkMany per view", async () => {
  const page = await browser.newPage({ viewport: { width: 1200, height: 800 } });
  const errors = [];
  const wasm = [];
  page.on("pageerror", (e) => errors.push(e.message));
  page.on("request", (r) => { if (r.url().endsWith(".wasm")) wasm.push(path.basename(new URL(r.url()).pathname)); });
  await page.goto(`${base}/index.html`);
  await page.waitForFunction(() => document.body.dataset.ready);
  // The console page decides without the policy compiler: its module is never fetched, and
  // compilePolicy says so until initCompiler() has loaded it.
  assert.deepEqual(wasm, ["portcullis_bg.wasm"]);
  assert.equal(await page.evaluate(async () => {
    const m = await import("./pkg/index.mjs");
    try {
      m.compilePolicy("{}");
      return "compiled";
    } catch (e) {
      return e.code;
    }
  }), "compiler_not_loaded");

  const expected = {
    dana: {
      "workflow:read": "enabled", "workflow:edit": "enabled", "workflow:build": "enabled", "workflow:test": "enabled",
      "config:read": "hidden", "config:update": "hidden", "credential:write": "hidden", "bundle:read": "hidden",
      "bundle:deploy": "hidden", "logs:read": "enabled", "data_health:read": "enabled",
    },
    ivan: {
      "workflow:read": "enabled", "workflow:edit": "disabled", "workflow:build": "disabled", "workflow:test": "disabled",
      "config:read": "enabled", "config:update": "enabled", "credential:write": "enabled", "bundle:read": "enabled",
      "bundle:deploy": "enabled", "logs:read": "enabled", "data_health:read": "hidden",
    },
    tess: {
      "workflow:read": "hidden", "workflow:edit": "hidden", "workflow:build": "hidden", "workflow:test": "hidden",
      "config:read": "hidden", "config:update": "hidden", "credential:write": "hidden", "bundle:read": "hidden",
      "bundle:deploy": "hidden", "logs:read": "enabled", "data_health:read": "enabled",
    },
    bea: {
      "workflow:read": "enabled", "workflow:edit": "enabled", "workflow:build": "enabled", "workflow:test": "enabled",
      "config:read": "hidden", "config:update": "hidden", "credential:write": "hidden", "bundle:read": "hidden",
      "bundle:deploy": "hidden", "logs:read": "enabled", "data_health:read": "enabled",
    },
    adam: {
      "workflow:read": "enabled", "workflow:edit": "disabled", "workflow:build": "disabled", "workflow:test": "enabled",
      "config:read": "enabled", "config:update": "enabled", "credential:write": "enabled", "bundle:read": "enabled",
      "bundle:deploy": "enabled", "logs:read": "enabled", "data_health:read": "enabled",
    },
  };
  for (const [user, want] of Object.entries(expected)) {
    assert.deepEqual(await states(page, user), want, user);
    await page.screenshot({ path: path.join(shots, `console-${user}.png`), fullPage: true });
  }

  // The deny reason is on hover, and the explain panel shows the trace.
  await states(page, "ivan");
  assert.equal(await page.getAttribute('button[data-action="workflow:edit"]', "title"), "denied: explicit_deny");
  await page.click('button[data-action="workflow:edit"] + button.why');
  assert.match(await page.textContent("#verdict"), /workflow:edit: explicit_deny \(prod-workflows-change-by-deploy-only\)/);
  assert.match(await page.textContent("#trace"), /deny\s+match/);
  const hidden = await page.$eval('section[data-view="credentials"]', (s) => s.dataset.state);
  assert.equal(hidden, "shown");
  await states(page, "tess");
  assert.equal(await page.$eval('section[data-view="credentials"]', (s) => getComputedStyle(s).display), "none");
  await page.screenshot({ path: path.join(shots, "console-explain.png"), fullPage: true });
  assert.deepEqual(errors, []);
  await page.close();
});

test("the playground compiles a policy and shows a decision, its trace and the matrices", async () => {
  const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
  const errors = [];
  page.on("pageerror", (e) => errors.push(e.message));
  await page.goto(`${base}/playground.html`);
  await page.waitForFunction(() => document.body.dataset.compiled === "ok");
  assert.match(await page.textContent("#status"), /northwind: unsigned preview/);

  await page.selectOption("#sub", "bob");
  await page.selectOption("#env", "nw-production");
  await page.selectOption("#action", "workflow:edit");
  await page.click("#decide");
  assert.equal(await page.textContent("#verdict"), "explicit_deny");
  assert.match(await page.textContent("#trace"), /bob-read-only-production-workflows/);

  const cell = (user, perm) => page.getAttribute(`#users-matrix td[data-user="${user}"][data-perm="${perm}"]`, "data-reason");
  assert.equal(await cell("bob", "workflow:edit"), "explicit_deny");
  assert.equal(await cell("bob", "workflow:read"), "allowed");
  assert.equal(await cell("alice", "workflow:edit"), "no_matching_grant");
  assert.equal(await cell("sue", "settings:manage"), "allowed");
  assert.equal(await page.textContent('#roles-matrix td[data-role="Admin"][data-perm="users:manage"]'), "✓");
  assert.equal(await page.textContent('#roles-matrix td[data-role="Read"][data-perm="workflow:edit"]'), "·");
  await page.screenshot({ path: path.join(shots, "playground.png"), fullPage: true });

  // A broken policy shows its compile errors with pointers; fixing it compiles again.
  const source = await page.inputValue("#policy");
  await page.fill("#policy", source.replace('"role": "Admin", "user": "jane"', '"role": "Admn", "user": "jane"'));
  await page.click("#compile");
  await page.waitForFunction(() => document.body.dataset.compiled === "error");
  assert.match(await page.textContent("#errors"), /\/orgs\/0\/bindings\/1\/role: unknown role `Admn` \(did you mean `Admin`\?\)/);
  await page.screenshot({ path: path.join(shots, "playground-error.png"), fullPage: true });
  assert.deepEqual(errors, []);
  await page.close();
});
