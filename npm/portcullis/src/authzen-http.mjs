// The AuthZEN Authorization API over HTTP, for Node's `http` server (or anything that calls a
// handler with `http.IncomingMessage` and `http.ServerResponse`): the same endpoints, the same
// credential rules and the same answers as `portcullis serve`.
//
//   import http from "node:http";
//   import { Authorizer, authzenHandler } from "portcullis";
//   const handler = authzenHandler({ authorizerFor: (org) => authorizers.get(org) });
//   http.createServer(handler).listen(8080, "127.0.0.1");

/** Largest request body, in bytes (as the core's `MAX_BODY_BYTES`). */
const MAX_BODY_BYTES = 1024 * 1024;
const INVALID_TOKEN = 'Bearer error="invalid_token"';
const INSUFFICIENT_SCOPE = 'Bearer error="insufficient_scope"';

/** The `org` claim of a token, read without verifying anything (to pick the bundle only). */
function orgHint(token) {
  const parts = token.split(".");
  if (parts.length !== 3) return null;
  try {
    const claims = JSON.parse(Buffer.from(parts[1], "base64url").toString("utf8"));
    return typeof claims?.org === "string" && claims.org !== "" ? claims.org : null;
  } catch {
    return null;
  }
}

/** The request id to echo: at most 128 visible ASCII characters. */
function requestId(req) {
  const id = req.headers["x-request-id"];
  return typeof id === "string" && id.length <= 128 && /^[\x21-\x7e]+$/.test(id) ? id : undefined;
}

function send(res, status, body, id, challenge) {
  const headers = { "content-type": "application/json" };
  if (id !== undefined) headers["x-request-id"] = id;
  if (challenge !== undefined) headers["www-authenticate"] = challenge;
  res.writeHead(status, headers);
  res.end(typeof body === "string" ? body : JSON.stringify(body));
}

/** The body, or null when it is larger than the limit. */
async function readBody(req) {
  const chunks = [];
  let size = 0;
  for await (const chunk of req) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) return null;
    chunks.push(chunk);
  }
  return new Uint8Array(Buffer.concat(chunks));
}

/** The endpoints' URLs under `base`. */
function configuration(base) {
  const at = (p) => `${base}${p}`;
  return {
    policy_decision_point: base,
    access_evaluation_endpoint: at("/access/v1/evaluation"),
    access_evaluations_endpoint: at("/access/v1/evaluations"),
    search_subject_endpoint: at("/access/v1/search/subject"),
    search_resource_endpoint: at("/access/v1/search/resource"),
    search_action_endpoint: at("/access/v1/search/action"),
  };
}

/**
 * `authzenHandler` over an `Authorizer` class, whose `isAuthzenEndpoint` names the endpoints
 * (the core defines them, and which permission each needs).
 */
export function authzenHandlerFor(Authorizer) {
  return (options) => authzenHandler(options, (name) => Authorizer.isAuthzenEndpoint(name));
}

/**
 * A request handler serving the AuthZEN API. Options: `authorizerFor(org)` gives the
 * organization's `Authorizer` (or `undefined`); `audience`, the audience PEP tokens must
 * carry (each issuer's own by default); `reasons`, answers with the reason, rule and bundle
 * version; `baseUrl`, for the well-known metadata (`http://<host header>` by default).
 */
function authzenHandler({ authorizerFor, audience, reasons = false, baseUrl } = {}, isEndpoint) {
  if (typeof authorizerFor !== "function") throw new TypeError("authzenHandler: `authorizerFor(org)` is required");
  return async function handler(req, res) {
    const id = requestId(req);
    try {
      const url = new URL(req.url ?? "/", "http://localhost");
      const path = url.pathname;
      const base = baseUrl ?? `http://${req.headers.host ?? "localhost"}`;
      if (req.method === "GET" && path === "/.well-known/authzen-configuration") return send(res, 200, configuration(base), id);
      const tenantMeta = path.match(/^\/\.well-known\/authzen-configuration\/([^/]+)$/);
      if (req.method === "GET" && tenantMeta) return send(res, 200, configuration(`${base}/tenants/${encodeURIComponent(decodeURIComponent(tenantMeta[1]))}`), id);
      const m = path.match(/^(?:\/tenants\/([^/]+))?\/access\/v1\/(.+)$/);
      if (req.method !== "POST" || !m || !isEndpoint(m[2])) return send(res, 404, { error: "not_found", message: "no such endpoint" }, id);
      const tenant = m[1] === undefined ? undefined : decodeURIComponent(m[1]);
      const bad = () => send(res, 401, { error: "invalid_token", message: "a valid service token of the organization is required" }, id, INVALID_TOKEN);
      const auth = req.headers.authorization;
      const token = typeof auth === "string" && auth.startsWith("Bearer ") ? auth.slice(7) : null;
      const org = token && orgHint(token);
      if (!org || (tenant !== undefined && tenant !== org)) return bad();
      const authorizer = authorizerFor(org);
      if (!authorizer) return bad();
      let session;
      try {
        session = authorizer.verifyToken(token, audience === undefined ? undefined : { audience });
      } catch {
        return bad();
      }
      try {
        if (session.kind !== "service") return bad();
        if (!authorizer.authzenMayCall(session, m[2])) {
          return send(res, 403, { error: "insufficient_scope", message: "the client may not ask for these decisions" }, id, INSUFFICIENT_SCOPE);
        }
      } finally {
        session.free();
      }
      const type = String(req.headers["content-type"] ?? "").split(";")[0].trim().toLowerCase();
      if (type !== "application/json") return send(res, 400, { error: "invalid_content_type", message: "the body must be application/json" }, id);
      const body = await readBody(req);
      if (body === null) return send(res, 413, { error: "body_too_large", message: `the request body is larger than ${MAX_BODY_BYTES} bytes` }, id);
      let answer;
      try {
        answer = authorizer.authzen(m[2], body, { reasons });
      } catch (e) {
        if (e?.name === "PortcullisError" && typeof e.status === "number") return send(res, e.status, { error: e.code, message: e.message }, id);
        throw e;
      }
      return send(res, 200, answer, id);
    } catch (e) {
      if (!res.headersSent) send(res, 500, { error: "internal", message: "the request could not be answered" }, id);
      else res.destroy(e);
    }
  };
}
