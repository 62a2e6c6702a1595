// The Cloudflare Worker's entry: the runtime's side of the gateway. Everything that is a
// runtime object (the request, its headers and streamed body, Workers KV, `fetch`) stays here;
// the decision crosses into wasm as strings and comes back as one outcome string (see
// crates/gateway/src/edge.rs for its fields). One `Edge` per isolate keeps the verified
// bundles and tokens.
import wasmModule from "./index_bg.wasm";
import { Edge, initSync } from "./glue/portcullis_gateway.js";

initSync({ module: wasmModule });

const SEP = "\0";
let edge;
let origin = "";
let timeoutMs = 30000;

/** A setting as text: vars may be strings or JSON values, secrets are strings. */
function setting(value) {
  if (value === undefined || value === null) return undefined;
  return typeof value === "string" ? value : JSON.stringify(value);
}

function gatewayFor(env) {
  if (edge === undefined) {
    // The names come from the wasm side, which reads the settings.
    const settings = {};
    for (const name of Edge.settingNames().split(",")) {
      const value = setting(env[name]);
      if (value !== undefined) settings[name] = value;
    }
    edge = new Edge(JSON.stringify(settings));
    origin = edge.origin;
    timeoutMs = edge.originTimeoutMs;
  }
  return edge;
}

/**
 * Writes a decision's log line once the answer is in the runtime's hands, so that writing it is
 * not on the request's path; `waitUntil` keeps the invocation open until it is written.
 */
function logLater(ctx, line) {
  if (line === "") return;
  ctx.waitUntil(new Promise((resolve) => setTimeout(resolve, 0)).then(() => console.log(line)));
}

/** An `R` outcome as a response: status, log line, JSON body, header pairs. */
function answer(fields, ctx) {
  logLater(ctx, fields[3]);
  const headers = new Headers({ "content-type": "application/json", "cache-control": "no-store" });
  for (let i = 5; i + 1 < fields.length; i += 2) headers.set(fields[i], fields[i + 1]);
  return new Response(fields[4], { status: Number(fields[2]), headers });
}

/**
 * Forwards the request as decided: the decided method, the canonical path with the query, the
 * client's headers less those the decision drops, plus the headers it sets. (Copying a Headers
 * object stays inside the runtime; building one from a list of pairs converts every pair from
 * JavaScript, which costs several times as much.)
 */
async function forward(gateway, request, fields, ctx) {
  const [, decisionId, line, method, target, dropped] = fields;
  const headers = new Headers(request.headers);
  if (dropped !== "") for (const name of dropped.split(",")) headers.delete(name);
  for (let i = 6; i + 1 < fields.length; i += 2) headers.set(fields[i], fields[i + 1]);
  const init = { method, headers, redirect: "manual", signal: AbortSignal.timeout(timeoutMs) };
  if (method !== "GET" && method !== "HEAD" && request.body !== null) init.body = request.body;
  let response = null;
  let failure;
  try {
    response = await fetch(origin + target, init);
  } catch (e) {
    failure = e;
  }
  // The decision's line (empty when forwarded requests are not logged), then a failure's own.
  logLater(ctx, line);
  if (response !== null) return response;
  const timedOut = failure?.name === "TimeoutError";
  return answer(gateway.failure(decisionId, timedOut, String(failure?.message ?? failure)).split(SEP), ctx);
}

async function readBundle(env, key) {
  try {
    if (!env.BUNDLES) return { error: "BUNDLES is not bound" };
    const bytes = await env.BUNDLES.get(key, "arrayBuffer");
    return { bytes: bytes === null ? undefined : new Uint8Array(bytes) };
  } catch (e) {
    return { error: String(e?.message ?? e) };
  }
}

async function handle(request, env, ctx) {
  const gateway = gatewayFor(env);
  const url = new URL(request.url);
  const scheme = url.protocol.slice(0, -1);
  const query = url.search.slice(1);
  const headers = request.headers;
  let names = "";
  for (const name of headers.keys()) names = names === "" ? name : `${names}${SEP}${name}`;
  const authorization = headers.get("authorization") ?? undefined;
  const connection = headers.get("connection") ?? undefined;
  let now = Date.now();
  let fields = gateway.decide(request.method, url.hostname, scheme, url.pathname, query, names, authorization,
    connection, now).split(SEP);
  if (fields[0] === "B") {
    const { bytes, error } = await readBundle(env, fields[2]);
    now = Date.now();
    fields = gateway.decideWithBundle(fields[1], request.method, url.hostname, scheme, url.pathname, query, names,
      authorization, connection, now, bytes, error).split(SEP);
  }
  if (fields[0] === "F") return forward(gateway, request, fields, ctx);
  return answer(fields, ctx);
}

export default {
  async fetch(request, env, ctx) {
    try {
      return await handle(request, env, ctx);
    } catch (e) {
      // The wasm side does not panic on any input; should it ever trap, the request is
      // refused (fail closed) and the next one starts from a fresh gateway state.
      edge = undefined;
      console.log(JSON.stringify({ error: "gateway_fault", message: String(e?.message ?? e) }));
      return new Response(JSON.stringify({ error: "unavailable", reason: "gateway_fault" }),
        { status: 503, headers: { "content-type": "application/json", "cache-control": "no-store" } });
    }
  },
};
