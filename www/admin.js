// The admin page: the users of an organization, add, remove, details with activity and the
// audit trail, through the control plane's management API. Its buttons are gated in the
// browser by the npm package over the organization's signed bundle: what the signed-in admin
// may not do is disabled, with the reason. The control plane decides again on every call.
import init, { Authorizer } from "./pkg/index.mjs";

await init();
const api = new URL(location.href).searchParams.get("api") ?? "http://127.0.0.1:8789";
const keys = (await (await fetch("demo-data.json")).json()).keys;
const $ = (id) => document.getElementById(id);
const state = { token: null, authz: null, session: null, assignable: new Set(), levels: [] };

async function call(method, path, body) {
  const headers = { authorization: `Bearer ${state.token}` };
  if (body !== undefined) headers["content-type"] = "application/json";
  const res = await fetch(`${api}${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  if (path === "/iam/bundle" && res.ok) return { status: res.status, bytes: new Uint8Array(await res.arrayBuffer()) };
  return { status: res.status, body: await res.json() };
}

function say(text, ok = true) {
  $("status").textContent = text;
  $("status").className = ok ? "ok" : "error";
}

/** Whether the signed-in admin may manage `user` at level `level`, and why not. */
function gate(user, level) {
  const d = state.authz.check(state.session, { action: "users:manage", resource: { type: "users", id: user ?? undefined } });
  if (!d.allowed) return { allowed: false, reason: `you may not manage users (${d.reason})` };
  if (level && !state.assignable.has(level)) {
    return { allowed: false, reason: `your roles may not assign or remove ${level} (role_not_assignable)` };
  }
  return { allowed: true, reason: "" };
}

function setGate(button, reasonNode, g) {
  button.disabled = !g.allowed;
  button.dataset.state = g.allowed ? "enabled" : "disabled";
  button.title = g.reason;
  if (reasonNode) reasonNode.textContent = g.reason;
}

async function signIn(token) {
  state.token = token.trim();
  const bundle = await call("GET", "/iam/bundle");
  if (!bundle.bytes) return say(`sign-in refused: ${bundle.body.error.code}: ${bundle.body.error.message}`, false);
  state.authz?.free();
  state.authz = Authorizer.fromBundle(bundle.bytes, keys);
  state.session = state.authz.verifyToken(state.token);
  const me = state.authz.permissions(state.session, null);
  const roles = (await call("GET", "/iam/roles")).body.roles;
  const held = new Set(me.roles.filter((r) => r.scope === "org").map((r) => r.role));
  // Access levels are org roles: `canAssign` names them by id, or by id and scope.
  state.assignable = new Set(roles.filter((r) => r.scope === "org" && held.has(r.id)).flatMap((r) => r.canAssign)
    .filter((a) => typeof a === "string" || a.scope === "org").map((a) => (typeof a === "string" ? a : a.role)));
  state.levels = roles.filter((r) => r.scope === "org").map((r) => r.id);
  $("who").textContent = `${state.session.sub} of ${me.org}: ${[...held].join(", ") || "no org role"}`;
  $("signin").hidden = true;
  $("users").hidden = false;
  const select = $("new-level");
  select.replaceChildren(...state.levels.map((l) => {
    const o = new Option(l, l);
    o.disabled = !state.assignable.has(l);
    return o;
  }));
  select.value = state.levels.find((l) => state.assignable.has(l)) ?? state.levels.at(-1);
  updateAdd();
  await list();
}

function updateAdd() {
  setGate($("add-button"), $("add-reason"), gate(null, $("new-level").value));
}

async function list() {
  const res = await call("GET", "/iam/users");
  const tbody = $("list").querySelector("tbody");
  tbody.replaceChildren();
  if (res.status !== 200) {
    $("list-reason").textContent = `you may not list users (${res.body.error.code})`;
    $("count").textContent = "";
    document.body.dataset.ready = "users";
    return;
  }
  $("list-reason").textContent = "";
  $("count").textContent = `(${res.body.total})`;
  for (const u of res.body.users) {
    const tr = document.createElement("tr");
    tr.dataset.user = u.userId;
    tr.innerHTML = "<td></td><td></td><td></td><td></td>";
    tr.children[0].textContent = u.userId;
    tr.children[1].textContent = u.accessLevel ?? "—";
    tr.children[2].textContent = u.status;
    const details = document.createElement("button");
    details.textContent = "Details";
    details.className = "details";
    details.onclick = () => show(u.userId);
    const remove = document.createElement("button");
    remove.textContent = "Remove";
    remove.className = "gated remove";
    const g = gate(u.userId, u.accessLevel);
    setGate(remove, null, g);
    remove.onclick = () => removeUser(u.userId);
    tr.children[3].append(details, remove);
    if (!g.allowed) tr.children[3].append(Object.assign(document.createElement("span"), { className: "reason", textContent: g.reason }));
    tbody.append(tr);
  }
  document.body.dataset.ready = "users";
}

async function show(user) {
  const [res, audit] = await Promise.all([call("GET", `/iam/users/${encodeURIComponent(user)}`),
    call("GET", `/iam/users/${encodeURIComponent(user)}/audit`)]);
  if (res.status !== 200) return say(`${res.body.error.code}: ${res.body.error.message}`, false);
  const u = res.body;
  $("details").hidden = false;
  $("details-title").textContent = u.userId;
  const fields = [["Access level", u.accessLevel ?? "—"], ["Status", u.status], ["Created", `${u.created} by ${u.createdBy}`],
    ["Last modified", `${u.lastModified} by ${u.lastModifiedBy}`], ["Last active", u.lastActive ?? "never"],
    ["Logins (distinct tokens)", String(u.activity.loginCount)],
    ["Managed resources", Object.entries(u.managedResources).map(([t, n]) => `${t}: ${n}`).join(", ") || "none"]];
  $("details-fields").replaceChildren(...fields.flatMap(([k, v]) => {
    const dt = document.createElement("dt");
    dt.textContent = k;
    const dd = document.createElement("dd");
    dd.textContent = v;
    return [dt, dd];
  }));
  const item = (text) => Object.assign(document.createElement("li"), { textContent: text });
  $("details-operations").replaceChildren(...u.activity.lastOperations.map((o) =>
    item(`${o.at} ${o.action ?? "me"} ${o.resource ?? ""} ${o.env ?? ""} → ${o.outcome} (${o.reason})`)));
  $("details-audit").replaceChildren(...(audit.body.entries ?? []).map((e) =>
    item(`v${e.version} ${e.at} ${e.actor} ${e.action}`)));
  document.body.dataset.ready = `details:${user}`;
}

async function removeUser(user) {
  const res = await call("DELETE", `/iam/users/${encodeURIComponent(user)}`);
  if (res.status === 200) say(`${res.body.message}: ${user}`);
  else say(`${res.body.error.code}: ${res.body.error.message}`, false);
  await list();
}

$("add").addEventListener("submit", async (e) => {
  e.preventDefault();
  const res = await call("POST", "/iam/users", [$("new-level").value, $("new-user").value]);
  if (res.status === 201) say(`${res.body.message}: ${res.body.userId} (${res.body.accessLevel})`);
  else say(`${res.body.error.code}: ${res.body.error.message}`, false);
  await list();
});
$("new-level").addEventListener("change", updateAdd);
$("signin-button").addEventListener("click", () => signIn($("token").value));

const fromHash = new URLSearchParams(location.hash.slice(1)).get("token");
if (fromHash) await signIn(fromHash);
else document.body.dataset.ready = "signin";
