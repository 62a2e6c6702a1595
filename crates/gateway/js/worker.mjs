// The Cloudflare Worker's entry: the runtime's side of the gateway. Everything that is a
// runtime object (the request, its headers and streamed body, Workers KV, `fetch`) stays here;
// the decision crosses into wasm as strings and comes back as one outcome in JSON, whose
// `kind` says what to do: `respond`, `forward` or `read_bundle` (see `Outcome` in
// crates/gateway/src/edge.rs). One `Edge` per isolate keeps the verified bundles and tokens.
import wasmModule from "./index_bg.wasm";
import { Edge, initSync } from "./glue/portcullis_gateway.js";

initSync({ module: wasmModule });

/** Separates the header names handed to the wasm side (no header name holds a NUL). */
const SEP = "\0";
let edge;
/** The control plane's activity Queue, when one is bound (`ACTIVITY`). */
let activityQueue;
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
    // A Queue binding is not a setting: its presence switches the activity events on.
    activityQueue = env.ACTIVITY;
    settings.ACTIVITY = activityQueue ? "on" : "off";
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

/**
 * Sends a decision's activity event to the control plane's Queue off the request's path; a
 * failed send is dropped (activity is informational, the decision stands).
 */
function sendLater(ctx, event) {
  if (!event || !activityQueue) return;
  ctx.waitUntil(activityQueue.send(event).catch(() => {}));
}

/** A `respond` outcome as a response: its status, JSON body and headers; its log line after. */
function answer(outcome, ctx) {
  logLater(ctx, outcome.log);
  sendLater(ctx, outcome.event);
  const headers = new Headers({ "content-type": "application/json", "cache-control": "no-store" });
  for (const [name, value] of outcome.headers) headers.set(name, value);
  return new Response(outcome.body, { status: outcome.status, headers });
}

/**
 * Forwards the request as decided: the decided method, the canonical path with the query, the
 * client's headers less those the decision drops, plus the headers it sets. (Copying a Headers
 * object stays inside the runtime; building one from a list of pairs converts every pair from
 * JavaScript, which costs several times as much.)
 */
async function forward(gateway, request, outcome, ctx) {
  const { decision_id: decisionId, log: line, method, target, event } = outcome;
  sendLater(ctx, event);
  const headers = new Headers(request.headers);
  for (const name of outcome.drop) headers.delete(name);
  for (const [name, value] of outcome.set) headers.set(name, value);
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
  return answer(JSON.parse(gateway.failure(decisionId, timedOut, String(failure?.message ?? failure))), ctx);
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

/** The AuthZEN API's body limit (the core's `MAX_BODY_BYTES`): a larger body is not read. */
const MAX_AUTHZEN_BODY = 1024 * 1024;

/** The body, or `undefined` when it is larger than the limit (reading stops there). */
async function boundedBody(request) {
  const declared = Number(request.headers.get("content-length") ?? "0");
  if (declared > MAX_AUTHZEN_BODY) return undefined;
  if (request.body === null) return new Uint8Array(0);
  const reader = request.body.getReader();
  const chunks = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > MAX_AUTHZEN_BODY) {
      await reader.cancel();
      return undefined;
    }
    chunks.push(value);
  }
  const body = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) {
    body.set(c, at);
    at += c.byteLength;
  }
  return body;
}

/** An AuthZEN call (`AUTHZEN` on): answered by the gateway itself, never forwarded. */
async function authzen(gateway, request, url, env, ctx) {
  const body = request.method === "POST" ? await boundedBody(request) : new Uint8Array(0);
  const h = request.headers;
  const call = [request.method, url.origin, url.pathname, h.get("authorization") ?? undefined,
    h.get("content-type") ?? undefined, h.get("x-request-id") ?? undefined, body];
  let outcome = JSON.parse(gateway.authzen(...call, Date.now()));
  if (outcome.kind === "read_bundle") {
    const { bytes, error } = await readBundle(env, outcome.key);
    outcome = JSON.parse(gateway.authzenWithBundle(outcome.decision_id, ...call, Date.now(), bytes, error));
  }
  return answer(outcome, ctx);
}

async function handle(request, env, ctx) {
  const gateway = gatewayFor(env);
  const url = new URL(request.url);
  if (gateway.authzenEnabled && Edge.isAuthzenPath(url.pathname)) return authzen(gateway, request, url, env, ctx);
  const scheme = url.protocol.slice(0, -1);
  const query = url.search.slice(1);
  const headers = request.headers;
  let names = "";
  for (const name of headers.keys()) names = names === "" ? name : `${names}${SEP}${name}`;
  const authorization = headers.get("authorization") ?? undefined;
  const connection = headers.get("connection") ?? undefined;
  let now = Date.now();
  let outcome = JSON.parse(gateway.decide(request.method, url.hostname, scheme, url.pathname, query, names,
    authorization, connection, now));
  if (outcome.kind === "read_bundle") {
    const { bytes, error } = await readBundle(env, outcome.key);
    now = Date.now();
    outcome = JSON.parse(gateway.decideWithBundle(outcome.decision_id, request.method, url.hostname, scheme,
      url.pathname, query, names, authorization, connection, now, bytes, error));
  }
  if (outcome.kind === "forward") return forward(gateway, request, outcome, ctx);
  return answer(outcome, ctx);
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
