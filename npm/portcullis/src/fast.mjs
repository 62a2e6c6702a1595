// The package's `Authorizer`: a JavaScript class over the wasm-bindgen one. It gives the wasm
// object the documented API and keeps the fast path of `check`, `checkMany` and `authorize`
// in front of it. A plain request (action and resource type, id, environment and organization
// as strings; no attributes, no context) comes back as one number per decision, which is
// turned into the decision object here, with interned strings. For `check` and `authorize`,
// each name crosses into wasm once: the authorizer interns it (and looks it up in its bundle)
// and the request then crosses as small integers; `checkMany` sends its batch as one
// `Uint32Array` of five such numbers per request. Anything else takes the general path, which
// reads the whole request and validates it strictly; all paths give the same decisions.

const RULE_OUTSIDE_TABLE = 0xffffff;
/** The packed answer that sends a request to the general path. */
const ASK_AGAIN = 0xffffffff;
/** Most sessions `authorize` keeps per authorizer; beyond it they are freed and it starts over. */
const MAX_SESSIONS = 1024;
/** Only the class's own factories may construct it. */
const CONSTRUCT = Symbol("portcullis.construct");
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

/** The decision object of a packed decision, or null when the general path must answer. */
function unpack(codes, wasm, state, code) {
  if (code === ASK_AGAIN) return null;
  const detailNumber = (code >>> 4) & 0xf;
  const ruleNumber = code >>> 8;
  if (detailNumber >= codes.details.length || ruleNumber === RULE_OUTSIDE_TABLE) return null;
  const reason = codes.reasons[code & 0xf];
  const allowed = reason === "allowed";
  const version = state.version;
  const detail = codes.details[detailNumber];
  if (ruleNumber === 0) {
    return detail === undefined
      ? { allowed, reason, bundle_version: version }
      : { allowed, reason, bundle_version: version, detail };
  }
  const names = state.rules;
  const rule = (names[ruleNumber - 1] ??= wasm.ruleName(ruleNumber - 1));
  return detail === undefined
    ? { allowed, reason, rule, bundle_version: version }
    : { allowed, reason, rule, bundle_version: version, detail };
}

/** The number of an interned name (0 for none: the general path decides). */
function atom(wasm, atoms, text) {
  const n = atoms.get(text);
  if (n !== undefined) return n;
  const fresh = wasm.intern(text);
  if (fresh !== 0) atoms.set(text, fresh);
  return fresh;
}

/** The authorizer's interned names, with room for `count` more (else both sides start over). */
function atomsWithRoom(wasm, state, count) {
  const atoms = state.atoms;
  if (atoms.size > state.atomCapacity - count) {
    atoms.clear();
    wasm.clearAtoms();
  }
  return atoms;
}

/** The number of an optional name: 0 when absent, -1 when it could not be interned. */
function optionalAtom(wasm, atoms, value) {
  if (value === undefined || value === null) return 0;
  return atom(wasm, atoms, value) || -1;
}

/**
 * Writes the five name numbers of a plain request (see `isPlain`) at `at` in `out` (action,
 * type, environment, id, organization; 0 for an absent one); false when a name could not be
 * interned: then the general path decides.
 */
function internRequest(wasm, atoms, request, out, at) {
  const resource = request.resource;
  const action = atom(wasm, atoms, request.action);
  const type = atom(wasm, atoms, resource.type);
  const env = optionalAtom(wasm, atoms, resource.env);
  const id = optionalAtom(wasm, atoms, resource.id);
  const org = optionalAtom(wasm, atoms, resource.org);
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
function decideInterned(wasm, state, session, request, now) {
  // Room for this request's five names, so that no number below goes stale.
  const atoms = atomsWithRoom(wasm, state, 5);
  if (!internRequest(wasm, atoms, request, ONE, 0)) return ASK_AGAIN;
  return wasm.decideAtoms(session, ONE[0], ONE[1], ONE[2], ONE[3], ONE[4], now);
}

/** Reasons, details (the first, none, as `undefined`) and the batch limit from `packedCodes`. */
function readCodes(text) {
  const [reasons, details, maxBatch] = text.split(";");
  return {
    reasons: reasons.split(","),
    details: details.split(",").map((d) => (d === "" ? undefined : d)),
    maxBatch: Number(maxBatch),
  };
}

/**
 * The package's `Authorizer` class over the wasm-bindgen class `Wasm`. What the fast path
 * keeps per authorizer sits in one object of one shape (so that property look-ups stay
 * monomorphic): the bundle version, rule names by number, interned names, and the sessions
 * `authorize` verified, by audience and token. Reasons, packed details and the batch limit
 * are read from the wasm module on first use (in browsers it is instantiated after this
 * module loads), so they are defined in one place.
 */
export function authorizerClass(Wasm) {
  let codes = null;
  const codesOf = () => (codes ??= readCodes(Wasm.packedCodes()));

  class Authorizer {
    #wasm;
    #state = null;

    constructor(wasm, key) {
      if (key !== CONSTRUCT) throw new TypeError("use Authorizer.fromBundle or compilePolicy");
      this.#wasm = wasm;
    }

    /** Verifies and loads a signed bundle. */
    static fromBundle(bytes, trustedKeys, opts) {
      return new Authorizer(Wasm.fromBundle(bytes, trustedKeys, opts), CONSTRUCT);
    }

    /** An unsigned preview from a bundle body the policy compiler made. */
    static fromPreviewBody(body) {
      return new Authorizer(Wasm.fromPreviewBody(body), CONSTRUCT);
    }

    #fast() {
      const wasm = this.#wasm;
      return (this.#state ??= {
        version: wasm.version, rules: [], atoms: new Map(), atomCapacity: wasm.atomCapacity, sessions: new Map(),
      });
    }

    get version() { return this.#wasm.version; }
    get org() { return this.#wasm.org; }
    get provenance() { return this.#wasm.provenance; }
    /** Most names one authorizer interns before both sides start over. */
    get atomCapacity() { return this.#wasm.atomCapacity; }

    verifyToken(token, opts) { return this.#wasm.verifyToken(token, opts); }
    permissions(session, env, opts) { return this.#wasm.permissions(session, env, opts); }
    explain(session, request, opts) { return this.#wasm.explain(session, request, opts); }
    declaredPermissions() { return this.#wasm.declaredPermissions(); }
    environments() { return this.#wasm.environments(); }
    roles() { return this.#wasm.roles(); }
    members() { return this.#wasm.members(); }
    previewToken(claims) { return this.#wasm.previewToken(claims); }

    check(session, request, opts) {
      const wasm = this.#wasm;
      const now = isPlain(request) ? instant(opts) : null;
      if (now === null) return wasm.check(session, request, opts);
      const state = this.#fast();
      return unpack(codesOf(), wasm, state, decideInterned(wasm, state, session, request, now)) ??
        wasm.check(session, request, opts);
    }

    authorize(token, request, opts) {
      const wasm = this.#wasm;
      const o = typeof token === "string" ? verifyOptions(opts) : null;
      if (o === null) return wasm.authorize(token, request, opts);
      // A token seen before decides through its session, without verifying it again.
      const state = this.#fast();
      const byAudience = state.sessions;
      let sessions = byAudience.get(o.audience);
      if (sessions === undefined) byAudience.set(o.audience, (sessions = new Map()));
      const plainRequest = isPlain(request);
      let session = sessions.get(token);
      if (session === undefined) {
        try {
          session = wasm.verifyTokenAt(token, o.audience, o.now);
        } catch (e) {
          // A bad token is the decision `invalid_token`, with the token error as its detail.
          // The general path reads the request before the token, so a request that is not
          // plain goes there: if it is malformed, that is still the error.
          if (!plainRequest || e?.name !== "PortcullisError" || typeof e.code !== "string" || !e.code.startsWith("token_")) {
            return wasm.authorize(token, request, opts);
          }
          const tokenError = e.detail === undefined ? { code: e.code, message: e.message } : { code: e.code, message: e.message, detail: e.detail };
          return { allowed: false, reason: "invalid_token", bundle_version: state.version, detail: e.code, token_error: tokenError };
        }
        if (sessions.size >= MAX_SESSIONS) {
          for (const s of sessions.values()) s.free();
          sessions.clear();
        }
        sessions.set(token, session);
      }
      const decision = plainRequest ? unpack(codesOf(), wasm, state, decideInterned(wasm, state, session, request, o.now)) : null;
      return decision ?? wasm.check(session, request, { now: o.now });
    }

    checkMany(session, requests, opts) {
      const wasm = this.#wasm;
      const now = instant(opts);
      const packed = codesOf();
      if (now === null || !Array.isArray(requests) || requests.length > packed.maxBatch || requests.length === 0) {
        return wasm.checkMany(session, requests, opts);
      }
      const state = this.#fast();
      const atoms = atomsWithRoom(wasm, state, 5 * requests.length);
      const names = new Uint32Array(5 * requests.length);
      for (let i = 0; i < requests.length; i += 1) {
        if (!isPlain(requests[i]) || !internRequest(wasm, atoms, requests[i], names, 5 * i)) {
          return wasm.checkMany(session, requests, opts);
        }
      }
      const decided = wasm.decideAtomsMany(session, names, now);
      const out = new Array(decided.length);
      for (let i = 0; i < decided.length; i += 1) {
        const d = unpack(packed, wasm, state, decided[i]);
        if (d === null) return wasm.checkMany(session, requests, opts);
        out[i] = d;
      }
      return out;
    }

    /** Frees the wasm object and the sessions `authorize` kept. */
    free() {
      const state = this.#state;
      if (state !== null) {
        for (const sessions of state.sessions.values()) for (const s of sessions.values()) s.free();
        state.sessions.clear();
      }
      this.#wasm.free();
    }
  }
  return Authorizer;
}
