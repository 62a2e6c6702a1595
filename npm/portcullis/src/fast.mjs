// The package's `Authorizer`: a JavaScript class over the wasm-bindgen one. It gives the wasm
// object the documented API and keeps the fast path of `check`, `checkMany` and `authorize`
// in front of it. A plain request (action and resource type, id, environment and organization
// as strings; resource attributes that are strings, booleans, 32-bit integers or lists of
// those; no context) comes back as one number per decision, which is turned into the decision
// object here, with interned strings. Each name (and each attribute's name and string value)
// crosses into wasm once: the authorizer interns it (and looks it up in its bundle) and the
// request then crosses as small integers: five arguments for a request without attributes, a
// `Uint32Array` otherwise (see `crates/js/src/encoded.rs`); `checkMany` sends its whole batch
// as one such array. Anything else takes the general path, which reads the whole request and
// validates it strictly; all paths give the same decisions.

import { portcullisError } from "./preview.mjs";

const RULE_OUTSIDE_TABLE = 0xffffff;
const ENCODER = new TextEncoder();

/** The instant and the reasons flag of AuthZEN options. */
function authzenOptions(opts) {
  let now = Math.floor(Date.now() / 1000);
  let reasons = false;
  if (opts !== undefined && opts !== null) {
    if (typeof opts !== "object") throw portcullisError("invalid_argument", "opts: expected an object");
    if (opts.now !== undefined) {
      if (!Number.isSafeInteger(opts.now)) throw portcullisError("invalid_argument", "opts.now: expected Unix seconds");
      now = opts.now;
    }
    reasons = opts.reasons === true;
  }
  return { now, reasons };
}
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

/** `shape`: the general path reads the request. */
const NOT_PLAIN = 0;
/** `shape`: a plain request without attributes. */
const PLAIN = 1;
/** `shape`: a plain request with `resource.attrs` (its values are checked as it is encoded). */
const WITH_ATTRS = 2;

/**
 * Whether a request is plain: `action` and `resource` only, a string action and type, `env`,
 * `id` and `org` each absent or a non-empty string, and `attrs` absent or an object of its
 * own kind (not an array or a `Map`: the general path reads those). Nothing is copied.
 */
function shape(request) {
  if (request === null || typeof request !== "object") return NOT_PLAIN;
  for (const k in request) if (k !== "action" && k !== "resource") return NOT_PLAIN;
  const resource = request.resource;
  if (typeof request.action !== "string" || resource === null || typeof resource !== "object") return NOT_PLAIN;
  let attrs = false;
  for (const k in resource) {
    if (k === "attrs") attrs = true;
    else if (k !== "type" && k !== "id" && k !== "env" && k !== "org") return NOT_PLAIN;
  }
  if (typeof resource.type !== "string" || !optionalName(resource.env) || !optionalName(resource.id) ||
    !optionalName(resource.org)) return NOT_PLAIN;
  if (!attrs) return PLAIN;
  const a = resource.attrs;
  if (a === null || typeof a !== "object") return NOT_PLAIN;
  const proto = Object.getPrototypeOf(a);
  return proto === Object.prototype || proto === null ? WITH_ATTRS : NOT_PLAIN;
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

/**
 * The authorizer's interned names, with room for `count` more (else both sides start over).
 * At most half the table is asked for: a batch that needs more than was asked for finds the
 * table full, takes the general path, and the next call starts over.
 */
function atomsWithRoom(wasm, state, count) {
  const atoms = state.atoms;
  if (atoms.size > state.atomCapacity - Math.min(count, state.atomCapacity >>> 1)) {
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
 * Writes the five name numbers of a plain request (see `shape`) at `at` in `out` (action,
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

/** `state.words` with room for `count` more words after `at`, grown when needed. */
function wordsWithRoom(state, at, count) {
  let words = state.words;
  if (at + count > words.length) {
    const grown = new Uint32Array(Math.max(2 * words.length, at + count));
    grown.set(words);
    state.words = words = grown;
  }
  return words;
}

/**
 * Writes a scalar attribute value (tag, then payload) at `at` in `out`: the index after it,
 * or -1 when the general path must read it (another type, an integer beyond 32 bits, a
 * string that could not be interned).
 */
function encodeScalar(wasm, atoms, tags, value, out, at) {
  if (typeof value === "string") {
    const n = atom(wasm, atoms, value);
    if (n === 0) return -1;
    out[at] = tags.string;
    out[at + 1] = n;
  } else if (typeof value === "boolean") {
    out[at] = tags.boolean;
    out[at + 1] = value ? 1 : 0;
  } else if (typeof value === "number" && (value | 0) === value) {
    out[at] = tags.integer;
    out[at + 1] = value; // stored modulo 2³², read back as a signed 32-bit integer
  } else {
    return -1;
  }
  return at + 2;
}

/**
 * Encodes a plain request (see `shape`) at `at` in `state.words`: its names, its attribute
 * count and its attributes, named by `names` (`Object.keys` of its attributes: own enumerable
 * names, as the general path reads them; null for none). The index after it, or -1 when the
 * general path must read it.
 */
function encodeRequest(wasm, state, codes, request, names, at) {
  let out = wordsWithRoom(state, at, 6);
  const atoms = state.atoms;
  if (!internRequest(wasm, atoms, request, out, at)) return -1;
  if (names === null) {
    out[at + 5] = 0;
    return at + 6;
  }
  const attrs = request.resource.attrs;
  if (names.length > codes.maxAttrs) return -1;
  out[at + 5] = names.length;
  let next = at + 6;
  const tags = codes.tags;
  for (let i = 0; i < names.length; i += 1) {
    const name = names[i];
    const key = atom(wasm, atoms, name);
    if (key === 0) return -1;
    const value = attrs[name];
    if (Array.isArray(value)) {
      const len = value.length;
      if (len > codes.maxAttrs) return -1;
      out = wordsWithRoom(state, next, 3 + 2 * len);
      out[next] = key;
      out[next + 1] = tags.list;
      out[next + 2] = len;
      next += 3;
      for (let j = 0; j < len; j += 1) {
        next = encodeScalar(wasm, atoms, tags, value[j], out, next);
        if (next < 0) return -1;
      }
    } else {
      out = wordsWithRoom(state, next, 3);
      out[next] = key;
      next = encodeScalar(wasm, atoms, tags, value, out, next + 1);
      if (next < 0) return -1;
    }
  }
  return next;
}

/** Whether `encodeScalar` would take `value` (interning aside). */
function plainScalar(value) {
  const t = typeof value;
  return t === "string" || t === "boolean" || (t === "number" && (value | 0) === value);
}

/**
 * Whether `encodeRequest` would take attributes of these `names` (interning aside): then the
 * general path would read them without an error, and a request for a permission no rule reads
 * attributes for is decided the same without them.
 */
function plainAttrs(codes, attrs, names) {
  if (names.length > codes.maxAttrs) return false;
  for (let i = 0; i < names.length; i += 1) {
    const value = attrs[names[i]];
    if (Array.isArray(value)) {
      if (value.length > codes.maxAttrs) return false;
      for (let j = 0; j < value.length; j += 1) if (!plainScalar(value[j])) return false;
    } else if (!plainScalar(value)) {
      return false;
    }
  }
  return true;
}

/**
 * The attribute names a plain request is encoded with (see `encodeRequest`): null for none,
 * which is also what a request gets whose permission no rule reads attributes for, when its
 * attributes are well formed (they would change nothing but the time spent).
 */
function attrNames(state, codes, request, kind) {
  if (kind !== WITH_ATTRS) return null;
  const attrs = request.resource.attrs;
  const names = Object.keys(attrs);
  return !state.attrActions.has(request.action) && plainAttrs(codes, attrs, names) ? null : names;
}

const ONE = new Uint32Array(5);

/** Decides a plain request (of `shape` `kind`) for a session through interned names. */
function decideInterned(wasm, state, codes, session, request, kind, now) {
  // Room for this request's names, so that no number below goes stale. (A list of strings may
  // need more: then interning fails, the general path decides, and the next request finds the
  // table full and starts it over.)
  const names = attrNames(state, codes, request, kind);
  if (names === null) {
    const atoms = atomsWithRoom(wasm, state, 5);
    if (!internRequest(wasm, atoms, request, ONE, 0)) return ASK_AGAIN;
    return wasm.decideAtoms(session, ONE[0], ONE[1], ONE[2], ONE[3], ONE[4], now);
  }
  atomsWithRoom(wasm, state, 5 + 2 * names.length);
  const end = encodeRequest(wasm, state, codes, request, names, 0);
  if (end < 0) return ASK_AGAIN;
  // Short requests cross as arguments (nothing is copied into wasm memory); each argument
  // costs the call a little, hence two sizes.
  const W = state.words;
  if (end <= 12) {
    return wasm.decideWords12(session, end, W[0], W[1], W[2], W[3], W[4], W[5], W[6], W[7], W[8], W[9], W[10], W[11], now);
  }
  if (end <= 24) {
    return wasm.decideWords24(session, end, W[0], W[1], W[2], W[3], W[4], W[5], W[6], W[7], W[8], W[9], W[10], W[11], W[12], W[13], W[14], W[15], W[16], W[17], W[18], W[19], W[20], W[21], W[22], W[23], now);
  }
  return wasm.decideEncoded(session, state.words.subarray(0, end), now);
}

/**
 * Reasons, details (the first, none, as `undefined`), the batch limit, the attribute limit and
 * the encoding's value tags, from `packedCodes`.
 */
function readCodes(text) {
  const [reasons, details, maxBatch, maxAttrs, tags] = text.split(";");
  return {
    reasons: reasons.split(","),
    details: details.split(",").map((d) => (d === "" ? undefined : d)),
    maxBatch: Number(maxBatch),
    maxAttrs: Number(maxAttrs),
    tags: Object.fromEntries(tags.split(",").map((pair) => {
      const [name, number] = pair.split("=");
      return [name, Number(number)];
    })),
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
        words: new Uint32Array(256), attrActions: new Set(wasm.attributePermissions().split(",")),
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
      const kind = shape(request);
      const now = kind === NOT_PLAIN ? null : instant(opts);
      if (now === null) return wasm.check(session, request, opts);
      const state = this.#fast();
      const codes = codesOf();
      return unpack(codes, wasm, state, decideInterned(wasm, state, codes, session, request, kind, now)) ??
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
      const kind = shape(request);
      const plainRequest = kind !== NOT_PLAIN;
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
      const codes = codesOf();
      const decision = plainRequest ? unpack(codes, wasm, state, decideInterned(wasm, state, codes, session, request, kind, o.now)) : null;
      return decision ?? wasm.check(session, request, { now: o.now });
    }

    /**
     * The AuthZEN Authorization API in process: an endpoint (`evaluation`, `evaluations`,
     * `search/subject`, `search/resource`, `search/action`) and its request body (an object,
     * JSON text or UTF-8 bytes) in, the answer's JSON text out. Options: `now` (Unix
     * seconds), `reasons` (each answer's `context` gives the reason, rule and bundle
     * version). A refused body throws a `PortcullisError` with its `code` and HTTP `status`.
     */
    authzen(endpoint, body, opts) {
      const { now, reasons } = authzenOptions(opts);
      const bytes = body instanceof Uint8Array ? body : ENCODER.encode(typeof body === "string" ? body : JSON.stringify(body) ?? "");
      return this.#wasm.authzen(endpoint, bytes, now, reasons);
    }

    /** Whether `endpoint` (`evaluation`, `search/subject`, …) is an AuthZEN endpoint. */
    static isAuthzenEndpoint(endpoint) { return Wasm.isAuthzenEndpoint(endpoint); }

    /**
     * Whether a PEP whose verified token is `session` may call the AuthZEN `endpoint`: a
     * service token whose client holds `pdp:evaluate` (evaluations) or `pdp:search`.
     */
    authzenMayCall(session, endpoint, opts) {
      return this.#wasm.authzenMayCall(session, endpoint, authzenOptions(opts).now);
    }

    /** AuthZEN access evaluation: `{ subject, action, resource, context? }` → `{ decision, context? }`. */
    evaluation(request, opts) {
      const o = authzenOptions(opts);
      // Without reasons the answer is one bit: the body crosses as text, the answer as a number.
      if (!o.reasons && !(request instanceof Uint8Array)) {
        const text = typeof request === "string" ? request : JSON.stringify(request) ?? "";
        return this.#wasm.authzenDecision(text, o.now) === 1 ? { decision: true } : { decision: false };
      }
      return JSON.parse(this.authzen("evaluation", request, opts));
    }
    /** AuthZEN access evaluations: defaults, `evaluations` and `options` → `{ evaluations }`. */
    evaluations(request, opts) { return JSON.parse(this.authzen("evaluations", request, opts)); }
    /** AuthZEN subject search → `{ results, page }`. */
    searchSubject(request, opts) { return JSON.parse(this.authzen("search/subject", request, opts)); }
    /** AuthZEN resource search → `{ results, page }`. */
    searchResource(request, opts) { return JSON.parse(this.authzen("search/resource", request, opts)); }
    /** AuthZEN action search → `{ results, page }`. */
    searchAction(request, opts) { return JSON.parse(this.authzen("search/action", request, opts)); }

    checkMany(session, requests, opts) {
      const wasm = this.#wasm;
      const now = instant(opts);
      const packed = codesOf();
      if (now === null || !Array.isArray(requests) || requests.length > packed.maxBatch || requests.length === 0) {
        return wasm.checkMany(session, requests, opts);
      }
      const state = this.#fast();
      const names = new Array(requests.length);
      let count = 0;
      for (let i = 0; i < requests.length; i += 1) {
        const kind = shape(requests[i]);
        if (kind === NOT_PLAIN) return wasm.checkMany(session, requests, opts);
        const attrs = attrNames(state, packed, requests[i], kind);
        names[i] = attrs;
        count += attrs === null ? 5 : 5 + 2 * attrs.length;
      }
      atomsWithRoom(wasm, state, count);
      let end = 0;
      for (let i = 0; i < requests.length; i += 1) {
        end = encodeRequest(wasm, state, packed, requests[i], names[i], end);
        if (end < 0) return wasm.checkMany(session, requests, opts);
      }
      const decided = wasm.decideEncodedMany(session, state.words.subarray(0, end), now);
      if (decided.length !== requests.length) return wasm.checkMany(session, requests, opts);
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
