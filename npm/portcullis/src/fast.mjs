// The fast path of `check`, `checkMany` and `authorize`. A plain request (action and resource type, id,
// environment and organization as strings; no attributes, no context) crosses into wasm as a
// few strings and comes back as one number per decision, which is turned into the decision
// object here, with interned strings. Anything else takes the general path, which reads the
// whole request and validates it strictly; both give the same decisions.

/** Reason codes in precedence order, as numbered by the core. */
const REASONS = [
  "invalid_token", "revoked", "cross_tenant", "cross_environment", "env_token_required",
  "not_a_member", "explicit_deny", "outside_token_scope", "allowed", "no_matching_grant",
];
/** Details a packed decision may carry (numbered from 1). */
const DETAILS = [
  undefined, "token_expired", "token_not_yet_valid", "token_revoked", "subject_revoked",
  "member_disabled", "undeclared_permission", "above_env_ceiling",
];
const RULE_OUTSIDE_TABLE = 0xffffff;
const INSTALLED = Symbol.for("portcullis.fastPath");
const VERSION = Symbol("portcullis.version");
const RULES = Symbol("portcullis.rules");
const SESSIONS = Symbol("portcullis.sessions");
/** Most sessions `authorize` keeps per authorizer; beyond it they are freed and it starts over. */
const MAX_SESSIONS = 1024;
/** Whether a field holds one of the packing separators (then the general path decides). */
const hasSeparator = (s) => s.indexOf("\u001f") !== -1 || s.indexOf("\u001e") !== -1;
const anySeparator = (f) => hasSeparator(f.action) || hasSeparator(f.type) || hasSeparator(f.env) || hasSeparator(f.id) || hasSeparator(f.org);
const NOT_PLAIN = Symbol("not plain");

/** An optional string field: "" when absent; NOT_PLAIN when the general path must read it. */
function optional(value) {
  if (value === undefined || value === null) return "";
  return typeof value === "string" && value !== "" ? value : NOT_PLAIN;
}

/** The fields of a plain request, or null. */
function plain(request) {
  if (request === null || typeof request !== "object") return null;
  for (const k in request) if (k !== "action" && k !== "resource") return null;
  const { action, resource } = request;
  if (typeof action !== "string" || resource === null || typeof resource !== "object") return null;
  for (const k in resource) if (k !== "type" && k !== "id" && k !== "env" && k !== "org") return null;
  const type = resource.type;
  if (typeof type !== "string") return null;
  const env = optional(resource.env);
  const id = optional(resource.id);
  const org = optional(resource.org);
  if (env === NOT_PLAIN || id === NOT_PLAIN || org === NOT_PLAIN) return null;
  return { action, type, env, id, org };
}

/** The instant to decide at, or null when the options need the general path. */
function instant(opts) {
  if (opts === undefined || opts === null) return Math.floor(Date.now() / 1000);
  if (typeof opts !== "object") return null;
  for (const k in opts) if (k !== "now") return null;
  if (opts.now === undefined) return Math.floor(Date.now() / 1000);
  return Number.isSafeInteger(opts.now) ? opts.now : null;
}

/** The instant and audience of `authorize` options, or null for the general path. */
function verifyOptions(opts) {
  if (opts === undefined || opts === null) return { now: Math.floor(Date.now() / 1000), audience: "" };
  if (typeof opts !== "object") return null;
  for (const k in opts) if (k !== "now" && k !== "audience") return null;
  const { now, audience } = opts;
  if (now !== undefined && !Number.isSafeInteger(now)) return null;
  if (audience !== undefined && audience !== null && (typeof audience !== "string" || audience === "")) return null;
  return { now: now ?? Math.floor(Date.now() / 1000), audience: audience ?? "" };
}

/** The decision object of a packed decision, or null when the general path must answer. */
function unpack(authorizer, code) {
  const detailNumber = (code >>> 4) & 0xf;
  const ruleNumber = code >>> 8;
  if (detailNumber >= DETAILS.length || ruleNumber === RULE_OUTSIDE_TABLE) return null;
  const reason = REASONS[code & 0xf];
  const decision = { allowed: reason === "allowed", reason };
  if (ruleNumber !== 0) {
    const names = (authorizer[RULES] ??= []);
    decision.rule = names[ruleNumber - 1] ??= authorizer.ruleName(ruleNumber - 1);
  }
  decision.bundle_version = (authorizer[VERSION] ??= authorizer.version);
  const detail = DETAILS[detailNumber];
  if (detail !== undefined) decision.detail = detail;
  return decision;
}

/**
 * Routes `check`, `checkMany` and `authorize` of the wasm-bindgen `Authorizer` class through
 * the fast path. `authorize` also keeps the tokens it verified (per authorizer, by token and
 * audience), so a repeated token costs a look-up instead of a signature check.
 */
export function install(Authorizer) {
  const proto = Authorizer.prototype;
  if (proto[INSTALLED]) return;
  proto[INSTALLED] = true;
  const generalCheck = proto.check;
  const generalCheckMany = proto.checkMany;

  proto.check = function check(session, request, opts) {
    const f = plain(request);
    const now = f === null ? null : instant(opts);
    if (now === null) return generalCheck.call(this, session, request, opts);
    const record = `${f.action}\u001f${f.type}\u001f${f.env}\u001f${f.id}\u001f${f.org}`;
    if (anySeparator(f)) return generalCheck.call(this, session, request, opts);
    return unpack(this, this.decidePackedOne(session, record, now)) ?? generalCheck.call(this, session, request, opts);
  };

  const generalAuthorize = proto.authorize;
  proto.authorize = function authorize(token, request, opts) {
    const f = typeof token === "string" ? plain(request) : null;
    const o = f === null ? null : verifyOptions(opts);
    if (o === null || anySeparator(f)) return generalAuthorize.call(this, token, request, opts);
    const record = `${f.action}\u001f${f.type}\u001f${f.env}\u001f${f.id}\u001f${f.org}`;
    // A token seen before decides through its session, without crossing into wasm again.
    const byAudience = (this[SESSIONS] ??= new Map());
    let sessions = byAudience.get(o.audience);
    if (sessions === undefined) byAudience.set(o.audience, (sessions = new Map()));
    let session = sessions.get(token);
    if (session === undefined) {
      try {
        session = this.verifyTokenAt(token, o.audience, o.now);
      } catch (e) {
        // A bad token is the decision `invalid_token`, with the token error as its detail.
        if (e?.name !== "PortcullisError" || typeof e.code !== "string" || !e.code.startsWith("token_")) {
          return generalAuthorize.call(this, token, request, opts);
        }
        return {
          allowed: false, reason: "invalid_token",
          bundle_version: (this[VERSION] ??= this.version), detail: e.code,
        };
      }
      if (sessions.size >= MAX_SESSIONS) {
        for (const s of sessions.values()) s.free();
        sessions.clear();
      }
      sessions.set(token, session);
    }
    return unpack(this, this.decidePackedOne(session, record, o.now)) ??
      generalAuthorize.call(this, token, request, opts);
  };

  proto.checkMany = function checkMany(session, requests, opts) {
    const now = instant(opts);
    if (now === null || !Array.isArray(requests) || requests.length > 1000) {
      return generalCheckMany.call(this, session, requests, opts);
    }
    if (requests.length === 0) return generalCheckMany.call(this, session, requests, opts);
    const records = new Array(requests.length);
    for (let i = 0; i < requests.length; i += 1) {
      const f = plain(requests[i]);
      if (f === null) return generalCheckMany.call(this, session, requests, opts);
      if (anySeparator(f)) return generalCheckMany.call(this, session, requests, opts);
      records[i] = `${f.action}\u001f${f.type}\u001f${f.env}\u001f${f.id}\u001f${f.org}`;
    }
    const codes = this.decidePacked(session, records.join("\u001e"), now);
    const out = new Array(codes.length);
    for (let i = 0; i < codes.length; i += 1) {
      const d = unpack(this, codes[i]);
      if (d === null) return generalCheckMany.call(this, session, requests, opts);
      out[i] = d;
    }
    return out;
  };
}
