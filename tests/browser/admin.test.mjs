// The admin page in Debian's Chromium against the control plane in workerd: an Admin lists,
// adds, inspects and removes users; what she may not do is disabled with the reason, and a
// Write user finds every control disabled. The page is served from 127.0.0.1.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import path from "node:path";
import { launchChromium } from "./chromium.mjs";
import { serve } from "../../scripts/serve-www.mjs";
import { mint, root, startControlPlane } from "../control/harness.mjs";

const shots = path.join(root, "out/screenshots");
let server, browser, base, cp;

before(async () => {
  mkdirSync(shots, { recursive: true });
  server = await serve(0);
  base = `http://127.0.0.1:${server.address().port}`;
  cp = await startControlPlane({ faultyKv: false, settings: { ADMIN_ORIGINS: base } });
  await cp.importPolicy("northwind", "examples/access-levels.json");
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  await cp?.close();
  await new Promise((r) => server?.close(r) ?? r());
});

async function open(sub) {
  const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
  const errors = [];
  page.on("pageerror", (e) => errors.push(e.message));
  await page.goto(`${base}/admin.html?api=${encodeURIComponent(cp.url)}#token=${await mint({ sub })}`);
  await page.waitForFunction(() => document.body.dataset.ready === "users");
  return { page, errors };
}

const rowButton = (page, user) => page.$eval(`tr[data-user="${user}"] button.remove`, (b) => ({ state: b.dataset.state, title: b.title }));

test("an Admin adds, inspects and removes a user; what she may not do is disabled, with the reason", async () => {
  const { page, errors } = await open("jane");
  assert.match(await page.textContent("#who"), /jane of northwind: Admin/);
  // Levels she may not assign are disabled in the form.
  const levels = await page.$$eval("#new-level option", (os) => Object.fromEntries(os.map((o) => [o.value, !o.disabled])));
  assert.deepEqual(levels, { SuperAdmin: false, Admin: false, Write: true, Read: true, None: true });
  // Sue is a SuperAdmin: Jane's remove button is disabled, and says why; Alice (Read) is hers to remove.
  assert.deepEqual(await rowButton(page, "sue"), { state: "disabled", title: "your roles may not assign or remove SuperAdmin (role_not_assignable)" });
  assert.equal((await rowButton(page, "alice")).state, "enabled");

  await page.fill("#new-user", "kim@example.com");
  await page.selectOption("#new-level", "Read");
  await page.click("#add-button");
  await page.waitForSelector('tr[data-user="kim@example.com"]');
  assert.match(await page.textContent("#status"), /User added successfully: kim@example.com \(Read\)/);
  assert.equal(await page.textContent('tr[data-user="kim@example.com"] td:nth-child(2)'), "Read");

  await page.click('tr[data-user="kim@example.com"] button.details');
  await page.waitForFunction(() => document.body.dataset.ready === "details:kim@example.com");
  const fields = await page.$$eval("#details-fields dt, #details-fields dd", (n) => n.map((x) => x.textContent));
  assert.ok(fields.includes("Access level") && fields.includes("Read"));
  assert.ok(fields.some((f) => /by jane$/.test(f)), fields.join(" | "));
  assert.match(await page.textContent("#details-audit"), /jane user\.add/);
  await page.screenshot({ path: path.join(shots, "admin-jane.png"), fullPage: true });

  await page.click('tr[data-user="kim@example.com"] button.remove');
  await page.waitForFunction(() => !document.querySelector('tr[data-user="kim@example.com"]'));
  assert.match(await page.textContent("#status"), /User removed successfully: kim@example.com/);
  assert.deepEqual(errors, []);
  await page.close();
});

test("a Write user finds adding, removing and the list refused, each with the reason", async () => {
  const { page, errors } = await open("bob");
  assert.equal(await page.$eval("#add-button", (b) => b.disabled), true);
  assert.equal(await page.textContent("#add-reason"), "you may not manage users (no_matching_grant)");
  assert.equal(await page.textContent("#list-reason"), "you may not list users (no_matching_grant)");
  await page.screenshot({ path: path.join(shots, "admin-bob.png"), fullPage: true });
  assert.deepEqual(errors, []);
  await page.close();
});

test("the control plane answers another page's origin without CORS headers", async () => {
  const res = await cp.mf.dispatchFetch(`${cp.url}/iam/users`, { headers: { origin: "http://evil.example", authorization: `Bearer ${await mint({ sub: "jane" })}` } });
  assert.equal(res.status, 200);
  assert.equal(res.headers.get("access-control-allow-origin"), null);
  const ours = await cp.mf.dispatchFetch(`${cp.url}/iam/users`, { method: "OPTIONS", headers: { origin: base } });
  assert.equal(ours.status, 204);
  assert.equal(ours.headers.get("access-control-allow-origin"), base);
  assert.match(ours.headers.get("access-control-allow-headers"), /authorization/);
});
