// The policy playground: compile a policy source into an unsigned preview, ask questions as
// any member, and see the effective-permission matrices. Everything runs in the browser.
import init, { compilePolicy, initCompiler } from "./pkg/index.mjs";

await Promise.all([init(), initCompiler()]);
const $ = (id) => document.getElementById(id);
$("policy").value = await (await fetch("examples/access-levels.json")).text();
let preview = null;

function fill(select, values, keep) {
  const previous = keep ? select.value : null;
  select.replaceChildren(...values.map((v) => new Option(v === "" ? "(org level)" : v, v)));
  if (previous && values.includes(previous)) select.value = previous;
}

function compile() {
  $("errors").textContent = "";
  try {
    preview?.free();
    preview = compilePolicy($("policy").value);
  } catch (e) {
    preview = null;
    $("errors").textContent = e.errors ? e.errors.map((x) => `${x.pointer}: ${x.message}${x.hint ? ` (${x.hint})` : ""}`).join("\n") : `${e.code}: ${e.message}`;
    document.body.dataset.compiled = "error";
    return;
  }
  $("status").textContent = `${preview.org}: unsigned preview — ${preview.roles().length} roles, ${preview.members().length} members`;
  fill($("sub"), preview.members().map((m) => m.id), true);
  fill($("env"), [...preview.environments(), ""], true);
  fill($("action"), preview.declaredPermissions(), true);
  renderRoles();
  renderUsers();
  document.body.dataset.compiled = "ok";
}

function session(sub, env) {
  const member = preview.members().find((m) => m.id === sub);
  const claims = { sub, env: env || undefined };
  if (member?.kind === "service") Object.assign(claims, { kind: "service", clientId: sub, env: undefined });
  return preview.verifyToken(preview.previewToken(claims));
}

function request(action, env) {
  const resource = { type: action.split(":")[0], env: env || undefined };
  if ($("rid").value) resource.id = $("rid").value;
  try {
    resource.attrs = JSON.parse($("attrs").value || "{}");
  } catch {
    resource.attrs = {};
  }
  return { action, resource };
}

function decide() {
  if (!preview) return;
  const s = session($("sub").value, $("env").value);
  const x = preview.explain(s, request($("action").value, $("env").value));
  s.free();
  $("verdict").className = `pill ${x.decision.allowed ? "allowed" : "denied"}`;
  $("verdict").textContent = x.decision.reason;
  $("decision").textContent = JSON.stringify(x.decision, null, 2);
  $("trace").textContent = x.trace.map((t) => `${t.check.padEnd(12)}${t.outcome.padEnd(8)}${t.note}${t.rule ? `  [${t.rule}]` : ""}`).join("\n");
}

function renderRoles() {
  const perms = preview.declaredPermissions();
  const head = `<tr><th></th>${perms.map((p) => `<th class="perm">${p}</th>`).join("")}</tr>`;
  const rows = preview.roles().map((r) => {
    const granted = new Set(r.permissions);
    return `<tr><th>${r.id} <small>(${r.scope})</small></th>${perms
      .map((p) => `<td class="${granted.has(p) ? "yes" : "no"}" data-role="${r.id}" data-perm="${p}">${granted.has(p) ? "✓" : "·"}</td>`)
      .join("")}</tr>`;
  });
  $("roles-matrix").innerHTML = head + rows.join("");
}

function renderUsers() {
  const env = $("env").value;
  $("matrix-env").textContent = env || "the organization (org level)";
  const perms = preview.declaredPermissions();
  const head = `<tr><th></th>${perms.map((p) => `<th class="perm">${p}</th>`).join("")}</tr>`;
  const rows = preview.members().map((m) => {
    let cells;
    try {
      const s = session(m.id, env);
      const decisions = preview.checkMany(s, perms.map((p) => ({ action: p, resource: { type: p.split(":")[0], env: env || undefined } })));
      s.free();
      cells = decisions.map((d, i) => {
        const cls = d.allowed ? "yes" : d.reason === "explicit_deny" ? "deny" : d.detail === "above_env_ceiling" ? "capped" : "no";
        return `<td class="${cls}" data-user="${m.id}" data-perm="${perms[i]}" data-reason="${d.reason}" title="${d.reason}${d.rule ? ` (${d.rule})` : ""}">${d.allowed ? "✓" : "·"}</td>`;
      });
    } catch (e) {
      cells = perms.map((p) => `<td class="no" data-user="${m.id}" data-perm="${p}" data-reason="${e.code}">·</td>`);
    }
    return `<tr><th>${m.id}</th>${cells.join("")}</tr>`;
  });
  $("users-matrix").innerHTML = head + rows.join("");
}

$("compile").addEventListener("click", () => { compile(); decide(); });
$("decide").addEventListener("click", decide);
$("env").addEventListener("change", () => { renderUsers(); decide(); });
compile();
decide();
