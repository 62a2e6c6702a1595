// A control for load runs: a JavaScript Worker doing the runtime work the gateway does for an
// allowed request (a decision id from crypto.getRandomValues, the outbound request built from a
// copy of the incoming headers minus the hop-by-hop ones plus five identity headers, an
// AbortSignal.timeout on it, and one JSON log line written once the origin's answer is in
// hand), with a fixed decision and no token or policy at all. The gateway's cost beyond this
// one is its decision. With the binding `LOG_LINE = "none"` it writes no log line, which shows
// what the line itself costs in the runtime.
const DROP = new Set(["connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "proxy-connection", "te",
  "trailer", "transfer-encoding", "upgrade", "host"]);

export default {
  async fetch(request, env, ctx) {
    const url = new URL(request.url);
    const id = Array.from(crypto.getRandomValues(new Uint8Array(12)), (b) => b.toString(16).padStart(2, "0")).join("");
    const line = JSON.stringify({ time: Math.floor(Date.now() / 1000), org: "client-a", env: "client-a-dev", sub: "dana",
      action: "workflows:read", resource: "workflows/wf-1", reason: "allowed", rule: "dana:editor@client-a-dev",
      bundle_version: 1, decision_id: id });
    const headers = new Headers(request.headers);
    const names = [...headers.keys()];
    for (const name of names) if (DROP.has(name) || name.startsWith("x-portcullis-")) headers.delete(name);
    headers.set("x-portcullis-principal", "user:dana");
    headers.set("x-portcullis-org", "client-a");
    headers.set("x-portcullis-decision", id);
    headers.set("x-portcullis-env", "client-a-dev");
    headers.set("x-portcullis-bundle-version", "1");
    const init = { method: request.method, headers, redirect: "manual", signal: AbortSignal.timeout(30000) };
    if (request.method !== "GET" && request.method !== "HEAD" && request.body !== null) init.body = request.body;
    const response = await fetch(env.ORIGIN + url.pathname + url.search, init);
    if (env.LOG_LINE !== "none") {
      ctx.waitUntil(new Promise((resolve) => setTimeout(resolve, 0)).then(() => console.log(line)));
    }
    return response;
  },
};
