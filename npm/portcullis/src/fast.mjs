// The fast path of `check`, `checkMany` and `authorize`. A plain request (action and resource type, id,
// environment and organization as strings; no attributes, no context) comes back as one number
// per decision, which is turned into the decision object here, with interned strings. For
// `check` and `authorize`, each name crosses into wasm once: the authorizer interns it (and
// looks it up in its bundle) and the request then crosses as small integers; `checkMany`
// sends its batch as one `Uint32Array` of five such numbers per request. Anything else takes the general path, which reads the whole
// request and validates it strictly; all paths give the same decisions.

// Reason codes by number, details by number (0: none) and the batch limit: read from the wasm
// module on the first decision (in browsers the module is instantiated after `install`), so
// they are defined in one place.
let REASONS = null;
let DETAILS = null;
let MAX_BATCH = 0;

/** Reads the packed codes from the wasm module, once. */
function loadCodes(Authorizer) {
  if (REASONS === null) ({ reasons: REASONS, details: DETAILS, maxBatch: MAX_BATCH } = Authorizer.packedCodes());
}
const RULE_OUTSIDE_TABLE = 0xffffff;
const INSTALLED = Symbol.for("portcullis.fastPath");
const STATE = Symbol("portcullis.state");
/** The packed answer that sends a request to the general path. */
const ASK_AGAIN = 0xffffffff;
/** Most sessions `authorize` keeps per authorizer; beyond it they are freed and it starts over. */
const MAX_SESSIONS = 1024;
/** An optional name: absent (undefined or null) or a non-empty string. */
function optionalName(value) {
  return value === undefined || value === null || (typeof value === "string" && value !== "");
}

/**
 * Whether a request is plain: `action` and `resource` only, a string action and type, and
 * `env`, `id` and `org` each absent or a non-empty string. Nothing is copied.
 */
function isPlain(request) {
  if (request === null || typeof request !== "object") return false;
  for (const k in request) if (k !== "action" && k !== "resource") return false;
  const resource = request.resource;
  if (typeof request.action !== "string" || resource === null || typeof resource !== "object") return false;
  for (const k in resource) if (k !== "type" && k !== "id" && k !== "env" && k !== "org") return false;
  return typeof resource.type === "string" && optionalName(resource.env) && optionalName(resource.id) &&
    optionalName(resource.org);
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

/**
 * What the fast path keeps per authorizer, in one object of one shape (so that property
 * look-ups stay monomorphic across authorizers): the bundle version, rule names by number,
 * interned names, and the sessions `authorize` verified, by audience and token.
 */
function stateOf(authorizer) {
  // `atomCapacity`: most names the wasm side interns per authorizer; beyond it both start over.
  return (authorizer[STATE] ??= {
    version: authorizer.version, rules: [], atoms: new Map(), atomCapacity: authorizer.atomCapacity, sessions: new Map(),
  });
}

/** The decision object of a packed decision, or null when the general path must answer. */
function unpack(authorizer, code) {
  if (code === ASK_AGAIN) return null;
  const detailNumber = (code >>> 4) & 0xf;
  const ruleNumber = code >>> 8;
  if (detailNumber >= DETAILS.length || ruleNumber === RULE_OUTSIDE_TABLE) return null;
  const reason = REASONS[code & 0xf];
  const allowed = reason === "allowed";
  const state = stateOf(authorizer);
  const version = state.version;
  const detail = DETAILS[detailNumber];
  if (ruleNumber === 0) {
    return detail === undefined
      ? { allowed, reason, bundle_version: version }
      : { allowed, reason, bundle_version: version, detail };
  }
  const names = state.rules;
  const rule = (names[ruleNumber - 1] ??= authorizer.ruleName(ruleNumber - 1));
  return detail === undefined
    ? { allowed, reason, rule, bundle_version: version }
    : { allowed, reason, rule, bundle_version: version, detail };
}

/** The number of an interned name (0 for none: the general path decides). */
function atom(authorizer, atoms, text) {
  const n = atoms.get(text);
  if (n !== undefined) return n;
  const fresh = authorizer.intern(text);
  if (fresh !== 0) atoms.set(text, fresh);
  return fresh;
}

/** The authorizer's interned names, with room for `count` more (else both sides start over). */
function atomsWithRoom(authorizer, count) {
  const { atoms, atomCapacity } = stateOf(authorizer);
  if (atoms.size > atomCapacity - count) {
    atoms.clear();
    authorizer.clearAtoms();
  }
  return atoms;
}

/** The number of an optional name: 0 when absent, -1 when it could not be interned. */
function optionalAtom(authorizer, atoms, value) {
  if (value === undefined || value === null) return 0;
  return atom(authorizer, atoms, value) || -1;
}

/**
 * Writes the five name numbers of a plain request (see `isPlain`) at `at` in `out` (action,
 * type, environment, id, organization; 0 for an absent one); false when a name could not be
 * interned: then the general path decides.
 */
function internRequest(authorizer, atoms, request, out, at) {
  const resource = request.resource;
  const action = atom(authorizer, atoms, request.action);
  const type = atom(authorizer, atoms, resource.type);
  const env = optionalAtom(authorizer, atoms, resource.env);
  const id = optionalAtom(authorizer, atoms, resource.id);
  const org = optionalAtom(authorizer, atoms, resource.org);
  if (action === 0 || type === 0 || env < 0 || id < 0 || org < 0) return false;
  out[at] = action;
  out[at + 1] = type;
  out[at + 2] = env;
  out[at + 3] = id;
  out[at + 4] = org;
  return true;
}

const ONE = new Uint32Array(5);

/** Decides a plain request for a session through interned names. */
function decideInterned(authorizer, session, request, now) {
  // Room for this request's five names, so that no number below goes stale.
  const atoms = atomsWithRoom(authorizer, 5);
  if (!internRequest(authorizer, atoms, request, ONE, 0)) return ASK_AGAIN;
  return authorizer.decideAtoms(session, ONE[0], ONE[1], ONE[2], ONE[3], ONE[4], now);
}

/**
 * Routes `check`, `checkMany` and `authorize` of the wasm-bindgen `Authorizer` class through
 * the fast path. `authorize` also keeps the sessions of the tokens it verified (per
 * authorizer, by token and audience), so a repeated token costs a look-up instead of a
 * signature check, whatever the request.
 */
export function install(Authorizer) {
  const proto = Authorizer.prototype;
  if (proto[INSTALLED]) return;
  proto[INSTALLED] = true;
  const generalCheck = proto.check;
  const generalCheckMany = proto.checkMany;

  proto.check = function check(session, request, opts) {
    loadCodes(Authorizer);
    const now = isPlain(request) ? instant(opts) : null;
    if (now === null) return generalCheck.call(this, session, request, opts);
    return unpack(this, decideInterned(this, session, request, now)) ?? generalCheck.call(this, session, request, opts);
  };

  const generalAuthorize = proto.authorize;
  proto.authorize = function authorize(token, request, opts) {
    loadCodes(Authorizer);
    const o = typeof token === "string" ? verifyOptions(opts) : null;
    if (o === null) return generalAuthorize.call(this, token, request, opts);
    // A token seen before decides through its session, without verifying it again.
    const byAudience = stateOf(this).sessions;
    let sessions = byAudience.get(o.audience);
    if (sessions === undefined) byAudience.set(o.audience, (sessions = new Map()));
    const plainRequest = isPlain(request);
    let session = sessions.get(token);
    if (session === undefined) {
      try {
        session = this.verifyTokenAt(token, o.audience, o.now);
      } catch (e) {
        // A bad token is the decision `invalid_token`, with the token error as its detail.
        // The general path reads the request before the token, so a request that is not
        // plain goes there: if it is malformed, that is still the error.
        if (!plainRequest || e?.name !== "PortcullisError" || typeof e.code !== "string" || !e.code.startsWith("token_")) {
          return generalAuthorize.call(this, token, request, opts);
        }
        const tokenError = e.detail === undefined ? { code: e.code, message: e.message } : { code: e.code, message: e.message, detail: e.detail };
        return { allowed: false, reason: "invalid_token", bundle_version: stateOf(this).version, detail: e.code, token_error: tokenError };
      }
      if (sessions.size >= MAX_SESSIONS) {
        for (const s of sessions.values()) s.free();
        sessions.clear();
      }
      sessions.set(token, session);
    }
    const decision = plainRequest ? unpack(this, decideInterned(this, session, request, o.now)) : null;
    return decision ?? generalCheck.call(this, session, request, { now: o.now });
  };

  proto.checkMany = function checkMany(session, requests, opts) {
    loadCodes(Authorizer);
    const now = instant(opts);
    if (now === null || !Array.isArray(requests) || requests.length > MAX_BATCH) {
      return generalCheckMany.call(this, session, requests, opts);
    }
    if (requests.length === 0) return generalCheckMany.call(this, session, requests, opts);
    const atoms = atomsWithRoom(this, 5 * requests.length);
    const names = new Uint32Array(5 * requests.length);
    for (let i = 0; i < requests.length; i += 1) {
      if (!isPlain(requests[i]) || !internRequest(this, atoms, requests[i], names, 5 * i)) {
        return generalCheckMany.call(this, session, requests, opts);
      }
    }
    const codes = this.decideAtomsMany(session, names, now);
    const out = new Array(codes.length);
    for (let i = 0; i < codes.length; i += 1) {
      const d = unpack(this, codes[i]);
      if (d === null) return generalCheckMany.call(this, session, requests, opts);
      out[i] = d;
    }
    return out;
  };
}
