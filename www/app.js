// UI gating with Portcullis in the browser: one checkMany per view decides which controls are
// enabled, disabled (with the deny reason on hover) or hidden; everything runs locally.
import init, { Authorizer } from "./pkg/index.mjs";

await init();
const data = await (await fetch("demo-data.json")).json();
const bytes = (b64) => Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
const authorizers = Object.fromEntries(
  Object.entries(data.bundles).map(([org, b64]) => [org, Authorizer.fromBundle(bytes(b64), data.keys)]),
);

const select = document.getElementById("user");
for (const u of data.users) select.add(new Option(u.label, u.id));

function requestFor(button, env) {
  const resource = { type: button.dataset.type, env };
  if (button.dataset.id) resource.id = button.dataset.id;
  return { action: button.dataset.action, resource };
}

function showTrace(authz, session, request) {
  const x = authz.explain(session, request);
  const verdict = document.getElementById("verdict");
  verdict.className = `pill ${x.decision.allowed ? "allowed" : "denied"}`;
  verdict.textContent = `${request.action}: ${x.decision.reason}${x.decision.rule ? ` (${x.decision.rule})` : ""}`;
  document.getElementById("trace").textContent = x.trace
    .map((s) => `${s.check.padEnd(12)}${s.outcome.padEnd(8)}${s.note}${s.rule ? `  [${s.rule}]` : ""}`)
    .join("\n");
}

let current = null; // the session the controls' handlers use; freed when the user changes

function render() {
  const user = data.users.find((u) => u.id === select.value);
  const authz = authorizers[user.org];
  current?.free();
  const session = authz.verifyToken(user.token);
  current = session;
  const me = authz.permissions(session, user.env);
  const held = new Set([...me.permissions, ...me.restrictions.filter((r) => r.effect !== "deny").flatMap((r) => r.permissions)]
    .map((p) => p.split(":")[0]));
  document.getElementById("where").textContent = `${user.org} / ${user.env} — roles: ${me.roles.map((r) => r.role).join(", ") || "none"}`;
  document.querySelectorAll(".why").forEach((w) => w.remove());
  for (const view of document.querySelectorAll("section.view")) {
    const buttons = [...view.querySelectorAll("button.control")];
    const requests = buttons.map((b) => requestFor(b, user.env));
    const decisions = authz.checkMany(session, requests);
    let visible = 0;
    buttons.forEach((button, i) => {
      const d = decisions[i];
      const state = d.allowed ? "enabled" : held.has(button.dataset.type) ? "disabled" : "hidden";
      button.dataset.state = state;
      button.dataset.reason = d.reason;
      button.disabled = state !== "enabled";
      button.title = d.allowed ? `allowed by ${d.rule}` : `denied: ${d.reason}`;
      button.onclick = () => showTrace(authz, session, requests[i]);
      if (state === "disabled") {
        const why = document.createElement("button");
        why.className = "why";
        why.textContent = "why?";
        why.onclick = () => showTrace(authz, session, requests[i]);
        button.after(why);
      }
      if (state !== "hidden") visible++;
    });
    view.dataset.state = visible ? "shown" : "hidden";
  }
  document.body.dataset.ready = select.value;
}

select.addEventListener("change", render);
render();
