//! JavaScript bindings of Portcullis (npm package `portcullis`): a thin call → answer layer.
//!
//! Every call converts its arguments with [`from_js`], calls the core and converts the answer
//! with [`to_js`]. Errors are JavaScript `Error`s with a stable `code`; a deny is a returned
//! decision, never an exception.
#![forbid(unsafe_code)]

use portcullis::{BundleKeys, Jwk, LoadOptions, Request, VerifiedToken, VerifyOptions};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use wasm_bindgen::prelude::*;

mod encoded;

/// A JavaScript `Error` with a stable `code` property.
fn error(code: &str, message: &str) -> JsValue {
    let err = js_sys::Error::new(message);
    err.set_name("PortcullisError");
    // Setting a property on a fresh Error object cannot fail.
    let _ = js_sys::Reflect::set(&err, &JsValue::from_str("code"), &JsValue::from_str(code));
    err.into()
}

fn core_error(e: &portcullis::Error) -> JsValue {
    let err = error(e.code(), &e.to_string());
    if let Some(detail) = e.detail() {
        // Setting a property on a fresh Error object cannot fail.
        let _ = js_sys::Reflect::set(
            &err,
            &JsValue::from_str("detail"),
            &JsValue::from_str(detail),
        );
    }
    err
}

/// Converts a JavaScript value into a Rust type; `what` names the argument in the error.
fn from_js<T: DeserializeOwned>(value: JsValue, what: &str) -> Result<T, JsValue> {
    serde_wasm_bindgen::from_value(value)
        .map_err(|e| error("invalid_argument", &format!("{what}: {e}")))
}

/// Converts an answer into a plain JavaScript object.
fn to_js<T: Serialize>(value: &T) -> Result<JsValue, JsValue> {
    value
        .serialize(&serde_wasm_bindgen::Serializer::json_compatible())
        .map_err(|e| error("internal", &format!("could not convert the answer: {e}")))
}

/// The decision `authorize` answers for a refused token.
#[derive(Serialize)]
struct RefusedToken<'a> {
    allowed: bool,
    reason: &'static str,
    bundle_version: u64,
    detail: &'static str,
    token_error: TokenErrorAnswer<'a>,
}

/// A token error as a refused `verifyToken` throws it.
#[derive(Serialize)]
struct TokenErrorAnswer<'a> {
    code: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    detail: Option<&'static str>,
    message: &'a str,
}

fn clock_now() -> i64 {
    (js_sys::Date::now() / 1000.0).floor() as i64
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct LoadOpts {
    now: Option<i64>,
    min_version: Option<u64>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct VerifyOpts {
    now: Option<i64>,
    audience: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct CheckOpts {
    now: Option<i64>,
}

fn optional<T: DeserializeOwned + Default>(value: JsValue, what: &str) -> Result<T, JsValue> {
    if value.is_undefined() || value.is_null() {
        Ok(T::default())
    } else {
        from_js(value, what)
    }
}

/// Reads trusted keys (a JWKS, a list of JWKs or one JWK) field by field. A generic
/// conversion would do the same with far more code, and that code is compiled on first use:
/// it is on every cold start.
fn trusted_jwks(value: &JsValue) -> Result<Vec<Jwk>, JsValue> {
    if !value.is_object() {
        return Err(error(
            "invalid_argument",
            "trustedKeys: expected a JWKS, a list of JWKs or one JWK",
        ));
    }
    let keys = if js_sys::Array::is_array(value) {
        JsValue::UNDEFINED
    } else {
        js_sys::Reflect::get(value, &JsValue::from_str("keys")).unwrap_or_default()
    };
    let list = if keys.is_undefined() { value } else { &keys };
    if js_sys::Array::is_array(list) {
        js_sys::Array::from(list)
            .iter()
            .map(|k| jwk_from_js(&k))
            .collect()
    } else if keys.is_undefined() {
        Ok(vec![jwk_from_js(value)?])
    } else {
        Err(error(
            "invalid_argument",
            "trustedKeys: `keys` must be a list",
        ))
    }
}

fn jwk_from_js(value: &JsValue) -> Result<Jwk, JsValue> {
    if !value.is_object() {
        return Err(error(
            "invalid_argument",
            "trustedKeys: a key must be an object",
        ));
    }
    let field = |name: &str| -> Result<Option<String>, JsValue> {
        let v = js_sys::Reflect::get(value, &JsValue::from_str(name)).unwrap_or_default();
        if v.is_undefined() || v.is_null() {
            return Ok(None);
        }
        v.as_string().map(Some).ok_or_else(|| {
            error(
                "invalid_argument",
                &format!("trustedKeys: `{name}` must be a string"),
            )
        })
    };
    let required = |name: &str| {
        field(name)?.ok_or_else(|| {
            error(
                "invalid_argument",
                &format!("trustedKeys: missing field `{name}`"),
            )
        })
    };
    Ok(Jwk {
        kty: required("kty")?,
        kid: required("kid")?,
        alg: required("alg")?,
        crv: field("crv")?,
        x: field("x")?,
        y: field("y")?,
        n: field("n")?,
        e: field("e")?,
        d: field("d")?,
        use_: field("use")?,
    })
}

/// A verified token, ready for decisions. Obtained from [`Authorizer::verify_token`] only.
#[wasm_bindgen]
pub struct Session {
    token: VerifiedToken,
    bundle_version: u64,
    /// The token's facts under the last authorizer that decided for it, worked out on
    /// first use.
    facts: std::cell::Cell<Option<portcullis::TokenFacts>>,
}

#[wasm_bindgen]
impl Session {
    /// `orgauth`, `envauth` or `service`.
    #[wasm_bindgen(getter)]
    pub fn kind(&self) -> String {
        self.token.kind().as_str().to_owned()
    }
    /// The subject.
    #[wasm_bindgen(getter)]
    pub fn sub(&self) -> String {
        self.token.sub().to_owned()
    }
    /// The organization.
    #[wasm_bindgen(getter)]
    pub fn org(&self) -> String {
        self.token.org().to_owned()
    }
    /// The environment of an EnvAuth token.
    #[wasm_bindgen(getter)]
    pub fn env(&self) -> Option<String> {
        self.token.env().map(str::to_owned)
    }
    /// Expiry, Unix seconds.
    #[wasm_bindgen(getter)]
    pub fn exp(&self) -> f64 {
        self.token.exp() as f64
    }
    /// The claims that were verified.
    #[wasm_bindgen(js_name = toJSON)]
    pub fn to_json(&self) -> Result<JsValue, JsValue> {
        to_js(&self.token)
    }
}

/// Decides requests against one organization's verified bundle (or an unsigned preview).
#[wasm_bindgen]
pub struct Authorizer {
    inner: portcullis::Authorizer,
    /// Numbers of the rule ids that packed decisions have named so far.
    rules: std::cell::RefCell<RuleTable>,
    /// The request the packed paths decode into, reused so that its strings keep their
    /// capacity: a packed decision allocates nothing, nor does one whose attributes have the
    /// names the one before had.
    scratch: std::cell::RefCell<Scratch>,
    /// Names interned by [`Authorizer::intern`], looked up in this bundle once (number − 1).
    atoms: std::cell::RefCell<Vec<Atom>>,
}

/// What the packed paths decode into, reused so that its strings keep their capacity.
#[derive(Default)]
struct Scratch {
    request: Request,
    /// The interned numbers of the names of the last attributes read, in the order they
    /// came: those in `request.resource.attrs`, or in `parked` while a request without
    /// attributes is decided (so that requests with and without attributes can alternate
    /// and still reuse one map).
    attr_names: Vec<u32>,
    /// Where the attributes wait while a request without attributes is decided.
    parked: portcullis::model::Attrs,
}

/// A name the package interned, with what it means in the authorizer's bundle as a
/// permission, an environment and an organization.
struct Atom {
    text: String,
    meaning: portcullis::Resolved,
}

/// Most names one authorizer interns; the package starts over beyond it.
const MAX_ATOMS: usize = 8192;

/// A packed decision that means "ask again on the general path" (a stale name number).
const ASK_AGAIN: u32 = u32::MAX;

/// Rule ids by number, and numbers by the address of the bundle's shared id (what a decision
/// carries). A rule gets its number the first time a packed decision names it: numbering every
/// rule up front would cost the first decision after a load a pass over every binding (some
/// 100,000 in a large organization).
#[derive(Default)]
struct RuleTable {
    names: Vec<std::sync::Arc<str>>,
    by_address: rustc_hash::FxHashMap<usize, u32>,
}

impl RuleTable {
    /// The number of rule `id`, given it now if it has none. The table keeps the id, so its
    /// address stays its own.
    fn number(&mut self, id: &std::sync::Arc<str>) -> u32 {
        let next = self.names.len() as u32;
        let names = &mut self.names;
        *self
            .by_address
            .entry(std::sync::Arc::as_ptr(id).cast::<u8>() as usize)
            .or_insert_with(|| {
                names.push(id.clone());
                next
            })
    }
}

/// Details a packed decision can name (index + 1 in bits 4–7); any other detail is 15.
const PACKED_DETAILS: [portcullis::Detail; 7] = [
    portcullis::Detail::Token(portcullis::TokenError::Expired),
    portcullis::Detail::Token(portcullis::TokenError::NotYetValid),
    portcullis::Detail::TokenRevoked,
    portcullis::Detail::SubjectRevoked,
    portcullis::Detail::MemberDisabled,
    portcullis::Detail::UndeclaredPermission,
    portcullis::Detail::AboveEnvCeiling,
];

/// A decision as one number: reason (index in `Reason::ALL`) in bits 0–3, detail in bits 4–7
/// (0: none, 1–7: [`PACKED_DETAILS`], 15: another), rule number + 1 in bits 8–31 (0: none,
/// 0xFFFFFF: a rule outside the table).
fn pack(decision: &portcullis::Decision, rules: &mut RuleTable) -> u32 {
    let reason = portcullis::Reason::ALL
        .iter()
        .position(|r| *r == decision.reason)
        .unwrap_or(0) as u32;
    let detail = match decision.detail {
        None => 0,
        Some(d) => PACKED_DETAILS
            .iter()
            .position(|p| *p == d)
            .map_or(15, |i| i as u32 + 1),
    };
    let rule = match &decision.rule {
        None => 0,
        Some(r) => (rules.number(r) + 1).min(0x00FF_FFFF),
    };
    reason | detail << 4 | rule << 8
}

/// Sets the fields of a plain request, reusing the strings' capacity.
fn fill_request(
    request: &mut Request,
    action: &str,
    resource_type: &str,
    env: Option<&str>,
    id: Option<&str>,
    org: Option<&str>,
) {
    fn set(slot: &mut String, value: &str) {
        slot.clear();
        slot.push_str(value);
    }
    fn set_optional(slot: &mut Option<String>, value: Option<&str>) {
        match value {
            None => *slot = None,
            Some(v) => set(slot.get_or_insert_with(String::new), v),
        }
    }
    set(&mut request.action, action);
    let resource = &mut request.resource;
    set(&mut resource.resource_type, resource_type);
    set_optional(&mut resource.env, env);
    set_optional(&mut resource.id, id);
    set_optional(&mut resource.org, org);
}

#[wasm_bindgen]
impl Authorizer {
    /// Verifies and loads a signed bundle. `trustedKeys`: a JWKS, a list of JWKs or one JWK
    /// (Ed25519). `opts`: `{ now?, minVersion? }`.
    #[wasm_bindgen(js_name = fromBundle)]
    pub fn from_bundle(
        bytes: &[u8],
        trusted_keys: JsValue,
        opts: JsValue,
    ) -> Result<Authorizer, JsValue> {
        let opts: LoadOpts = optional(opts, "opts")?;
        let keys = trusted_jwks(&trusted_keys)?;
        let mut trusted = BundleKeys::new();
        for k in &keys {
            trusted.add_jwk(k).map_err(|e| core_error(&e.into()))?;
        }
        let options = LoadOptions {
            now: opts.now.unwrap_or_else(clock_now),
            min_version: opts.min_version.unwrap_or(0),
        };
        let inner = portcullis::Authorizer::from_bundle(bytes, &trusted, options)
            .map_err(|e| core_error(&e.into()))?;
        Ok(Authorizer::around(inner))
    }

    /// An **unsigned preview** authorizer from a bundle body that the policy compiler module
    /// made (`compilePolicy` in JavaScript): no signature, no expiry, provenance
    /// `unsigned_preview`. For playgrounds and previews only; production authorizers come
    /// from signed bundles through `fromBundle`.
    #[wasm_bindgen(js_name = fromPreviewBody)]
    pub fn from_preview_body(body: &[u8]) -> Result<Authorizer, JsValue> {
        let inner = portcullis::Authorizer::preview_from_body(body, 0)
            .map_err(|e| core_error(&e.into()))?;
        Ok(Authorizer::around(inner))
    }

    /// The bundle version.
    #[wasm_bindgen(getter)]
    pub fn version(&self) -> f64 {
        self.inner.version() as f64
    }

    /// The organization the bundle governs.
    #[wasm_bindgen(getter)]
    pub fn org(&self) -> String {
        self.inner.policy().org().to_owned()
    }

    /// `signed_bundle` or `unsigned_preview`.
    #[wasm_bindgen(getter)]
    pub fn provenance(&self) -> String {
        match self.inner.provenance() {
            portcullis::Provenance::SignedBundle => "signed_bundle".into(),
            portcullis::Provenance::UnsignedPreview => "unsigned_preview".into(),
        }
    }

    /// Verifies a token; throws a `PortcullisError` whose `code` names what is wrong.
    #[wasm_bindgen(js_name = verifyToken)]
    pub fn verify_token(&self, token: &str, opts: JsValue) -> Result<Session, JsValue> {
        let opts: VerifyOpts = optional(opts, "opts")?;
        self.open_session(
            token,
            &VerifyOptions {
                now: opts.now.unwrap_or_else(clock_now),
                audience: opts.audience.as_deref(),
            },
        )
    }

    /// [`Authorizer::verify_token`] without an options object: `audience` empty for the
    /// issuer's own (the fast path of the package's `authorize`).
    #[wasm_bindgen(js_name = verifyTokenAt)]
    pub fn verify_token_at(
        &self,
        token: &str,
        audience: &str,
        now: f64,
    ) -> Result<Session, JsValue> {
        self.open_session(
            token,
            &VerifyOptions {
                now: now as i64,
                audience: (!audience.is_empty()).then_some(audience),
            },
        )
    }

    /// Verifies `token` into a session of this bundle version.
    fn open_session(&self, token: &str, options: &VerifyOptions<'_>) -> Result<Session, JsValue> {
        let token = self
            .inner
            .verify_token(token, options)
            .map_err(|e| core_error(&e.into()))?;
        Ok(Session {
            token,
            bundle_version: self.inner.version(),
            facts: std::cell::Cell::new(None),
        })
    }

    /// The session's token, if it was verified under this bundle version. A session of
    /// another organization stays usable: its decisions are `cross_tenant`.
    fn session<'s>(&self, session: &'s Session) -> Result<&'s VerifiedToken, JsValue> {
        if session.token.org() == self.inner.policy().org()
            && session.bundle_version != self.inner.version()
        {
            return Err(error(
                "session_stale",
                "the session was verified under another bundle version; verify the token again",
            ));
        }
        Ok(&session.token)
    }

    /// The permissions whose decisions may depend on resource attributes, separated by `,`
    /// (see `Policy::resource_attribute_permissions`): the fast path leaves the attributes of
    /// a request for any other permission out, once it has checked that they are well formed.
    #[wasm_bindgen(js_name = attributePermissions)]
    pub fn attribute_permissions(&self) -> String {
        let policy = self.inner.policy();
        policy
            .permissions()
            .names_of(&policy.resource_attribute_permissions())
            .join(",")
    }

    /// The id of rule number `n` of packed decisions.
    #[wasm_bindgen(js_name = ruleName)]
    pub fn rule_name(&self, n: u32) -> Option<String> {
        let rules = self.rules.try_borrow().ok()?;
        rules.names.get(n as usize).map(|r| r.to_string())
    }

    /// Interns a name (an action, resource type, environment, id or organization) for
    /// [`Authorizer::decide_atoms`]: its number (from 1), or 0 when the table is full (then
    /// [`Authorizer::clear_atoms`] starts it over). Each name is looked up in the bundle here,
    /// once.
    pub fn intern(&self, text: &str) -> u32 {
        let mut atoms = self.atoms.borrow_mut();
        if atoms.len() >= MAX_ATOMS {
            return 0;
        }
        atoms.push(Atom {
            text: text.to_owned(),
            meaning: self.inner.resolve_names(Some(text), Some(text), Some(text)),
        });
        atoms.len() as u32
    }

    /// What the package's JavaScript needs to read packed decisions and write encoded
    /// requests, from the one place that defines it, as one string (a cold start compiles no
    /// conversion for it), in sections separated by `;`: the reasons by number (bits 0–3)
    /// separated by `,`; the details by number (bits 4–7; the first, empty, is none); the most
    /// requests one `checkMany` decides; the most attributes (and list elements) an encoded
    /// request has; the tags of [`encoded`] values as `name=number` pairs.
    #[wasm_bindgen(js_name = packedCodes)]
    pub fn packed_codes() -> String {
        let reasons: Vec<&str> = portcullis::Reason::ALL.iter().map(|r| r.as_str()).collect();
        let details: Vec<&str> = std::iter::once("")
            .chain(PACKED_DETAILS.iter().map(|d| d.code()))
            .collect();
        format!(
            "{};{};{};{};string={},boolean={},integer={},list={}",
            reasons.join(","),
            details.join(","),
            portcullis::decide::MAX_BATCH,
            encoded::MAX_ENCODED_ATTRS,
            encoded::STRING,
            encoded::BOOLEAN,
            encoded::INTEGER,
            encoded::LIST,
        )
    }

    /// Most names [`Authorizer::intern`] holds before it answers 0.
    #[wasm_bindgen(getter, js_name = atomCapacity)]
    pub fn atom_capacity(&self) -> u32 {
        MAX_ATOMS as u32
    }

    /// Forgets every interned name.
    #[wasm_bindgen(js_name = clearAtoms)]
    pub fn clear_atoms(&self) {
        self.atoms.borrow_mut().clear();
        // The numbers of the attribute names kept for reuse may now name other texts.
        let mut scratch = self.scratch.borrow_mut();
        scratch.request.resource.attrs.clear();
        scratch.parked.clear();
        scratch.attr_names.clear();
    }

    /// Decides one plain request given as interned names (0: absent; action and type are
    /// required) and returns the packed decision (see [`pack`]), or `0xFFFFFFFF` (ask the
    /// general path) when a number names no interned name or the session does not belong
    /// here. The names were looked up when interned and the session's facts are kept, so
    /// nothing is hashed here.
    #[wasm_bindgen(js_name = decideAtoms)]
    #[allow(clippy::too_many_arguments)]
    pub fn decide_atoms(
        &self,
        session: &Session,
        action: u32,
        resource_type: u32,
        env: u32,
        id: u32,
        org: u32,
        now: f64,
    ) -> u32 {
        // A stale session is the general path's to report: a plain number back (not a
        // `Result`) crosses to JavaScript without an array per call.
        match self.session_facts(session) {
            Ok((token, facts)) => self.decide_names(
                token,
                &facts,
                [action, resource_type, env, id, org],
                None,
                now as i64,
            ),
            Err(_) => ASK_AGAIN,
        }
    }

    /// Decides one request with resource attributes, encoded as [`encoded`] describes, and
    /// returns the packed decision, or `0xFFFFFFFF` (ask the general path) when the words are
    /// not one well-formed request of interned names or the session does not belong here.
    #[wasm_bindgen(js_name = decideEncoded)]
    pub fn decide_encoded(&self, session: &Session, words: &[u32], now: f64) -> u32 {
        let Ok((token, facts)) = self.session_facts(session) else {
            return ASK_AGAIN;
        };
        let mut words = encoded::Words::new(words);
        let decision = self.decide_next(token, &facts, &mut words, now as i64);
        if words.is_empty() {
            decision
        } else {
            ASK_AGAIN
        }
    }

    /// [`Authorizer::decide_encoded`] for a request of at most 12 words (one or two scalar
    /// attributes), given as arguments, the first `len` of them counting: nothing is copied
    /// into wasm memory. Each argument costs the call a little, hence two sizes.
    #[wasm_bindgen(js_name = decideWords12)]
    #[allow(clippy::too_many_arguments)]
    pub fn decide_words_12(
        &self,
        session: &Session,
        len: u32,
        w0: u32,
        w1: u32,
        w2: u32,
        w3: u32,
        w4: u32,
        w5: u32,
        w6: u32,
        w7: u32,
        w8: u32,
        w9: u32,
        w10: u32,
        w11: u32,
        now: f64,
    ) -> u32 {
        let words = [w0, w1, w2, w3, w4, w5, w6, w7, w8, w9, w10, w11];
        self.decide_prefix(session, &words, len, now)
    }

    /// [`Authorizer::decide_words_12`] for a request of at most 24 words (a list of five, or
    /// three attributes).
    #[wasm_bindgen(js_name = decideWords24)]
    #[allow(clippy::too_many_arguments)]
    pub fn decide_words_24(
        &self,
        session: &Session,
        len: u32,
        w0: u32,
        w1: u32,
        w2: u32,
        w3: u32,
        w4: u32,
        w5: u32,
        w6: u32,
        w7: u32,
        w8: u32,
        w9: u32,
        w10: u32,
        w11: u32,
        w12: u32,
        w13: u32,
        w14: u32,
        w15: u32,
        w16: u32,
        w17: u32,
        w18: u32,
        w19: u32,
        w20: u32,
        w21: u32,
        w22: u32,
        w23: u32,
        now: f64,
    ) -> u32 {
        let words = [
            w0, w1, w2, w3, w4, w5, w6, w7, w8, w9, w10, w11, w12, w13, w14, w15, w16, w17, w18,
            w19, w20, w21, w22, w23,
        ];
        self.decide_prefix(session, &words, len, now)
    }

    /// [`Authorizer::decide_encoded`] for the first `len` of `words` (more than there are:
    /// ask the general path).
    fn decide_prefix(&self, session: &Session, words: &[u32], len: u32, now: f64) -> u32 {
        match words.get(..len as usize) {
            Some(words) => self.decide_encoded(session, words, now),
            None => ASK_AGAIN,
        }
    }

    /// [`Authorizer::decide_encoded`] for a batch: requests one after the other, at most
    /// [`portcullis::decide::MAX_BATCH`]. A request that cannot be read is `0xFFFFFFFF`, and
    /// the answer ends there.
    #[wasm_bindgen(js_name = decideEncodedMany)]
    pub fn decide_encoded_many(
        &self,
        session: &Session,
        words: &[u32],
        now: f64,
    ) -> Result<Vec<u32>, JsValue> {
        let (token, facts) = self.session_facts(session)?;
        let mut words = encoded::Words::new(words);
        let mut decisions = Vec::new();
        while !words.is_empty() {
            if decisions.len() == portcullis::decide::MAX_BATCH {
                let e = portcullis::decide::BatchTooLarge {
                    len: decisions.len() + 1,
                };
                return Err(error(e.code(), &e.to_string()));
            }
            let decision = self.decide_next(token, &facts, &mut words, now as i64);
            decisions.push(decision);
            if decision == ASK_AGAIN {
                break;
            }
        }
        Ok(decisions)
    }

    /// Decides one request.
    pub fn check(
        &self,
        session: &Session,
        request: JsValue,
        opts: JsValue,
    ) -> Result<JsValue, JsValue> {
        let request: Request = from_js(request, "request")?;
        let opts: CheckOpts = optional(opts, "opts")?;
        to_js(&self.inner.check(
            self.session(session)?,
            &request,
            opts.now.unwrap_or_else(clock_now),
        ))
    }

    /// Decides many requests for one session, in order.
    #[wasm_bindgen(js_name = checkMany)]
    pub fn check_many(
        &self,
        session: &Session,
        requests: JsValue,
        opts: JsValue,
    ) -> Result<JsValue, JsValue> {
        // Refuse an oversize batch before converting it.
        let too_large = |len: usize| {
            let e = portcullis::decide::BatchTooLarge { len };
            error(e.code(), &e.to_string())
        };
        if let Some(list) = requests.dyn_ref::<js_sys::Array>() {
            let len = list.length() as usize;
            if len > portcullis::decide::MAX_BATCH {
                return Err(too_large(len));
            }
        }
        let requests: Vec<Request> = from_js(requests, "requests")?;
        let opts: CheckOpts = optional(opts, "opts")?;
        let decisions = self
            .inner
            .check_many(
                self.session(session)?,
                &requests,
                opts.now.unwrap_or_else(clock_now),
            )
            .map_err(|e| too_large(e.len))?;
        to_js(&decisions)
    }

    /// Verifies and decides in one step; never throws for a bad token (`invalid_token`).
    pub fn authorize(
        &self,
        token: &str,
        request: JsValue,
        opts: JsValue,
    ) -> Result<JsValue, JsValue> {
        let request: Request = from_js(request, "request")?;
        let opts: VerifyOpts = optional(opts, "opts")?;
        let now = opts.now.unwrap_or_else(clock_now);
        let options = VerifyOptions {
            now,
            audience: opts.audience.as_deref(),
        };
        match self.inner.verify_token(token, &options) {
            Ok(t) => to_js(&self.inner.check(&t, &request, now)),
            Err(e) => {
                // The decision `invalid_token`, and the token error as a refused `verifyToken`
                // would have thrown it: code, detail (when it names one) and message.
                let message = e.to_string();
                to_js(&RefusedToken {
                    allowed: false,
                    reason: portcullis::Reason::InvalidToken.as_str(),
                    bundle_version: self.inner.version(),
                    detail: e.code(),
                    token_error: TokenErrorAnswer {
                        code: e.code(),
                        detail: e.detail(),
                        message: &message,
                    },
                })
            }
        }
    }

    /// Effective permissions in `env` (org level when absent). A session that may not act
    /// there gets a `PortcullisError` with the deny reason as `code`.
    pub fn permissions(
        &self,
        session: &Session,
        env: Option<String>,
        opts: JsValue,
    ) -> Result<JsValue, JsValue> {
        let opts: CheckOpts = optional(opts, "opts")?;
        match self.inner.permissions(
            self.session(session)?,
            env.as_deref(),
            opts.now.unwrap_or_else(clock_now),
        ) {
            Ok(p) => to_js(&p),
            Err(d) => Err(error(
                d.reason.as_str(),
                &format!("no permissions here: {}", d.reason),
            )),
        }
    }

    /// Decides and returns the trace of every check and rule considered.
    pub fn explain(
        &self,
        session: &Session,
        request: JsValue,
        opts: JsValue,
    ) -> Result<JsValue, JsValue> {
        let request: Request = from_js(request, "request")?;
        let opts: CheckOpts = optional(opts, "opts")?;
        to_js(&self.inner.explain(
            self.session(session)?,
            &request,
            opts.now.unwrap_or_else(clock_now),
        ))
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PreviewClaims {
    kind: Option<String>,
    sub: String,
    env: Option<String>,
    client_id: Option<String>,
    scope: Option<String>,
    ttl: Option<i64>,
    now: Option<i64>,
}

#[derive(Serialize)]
struct RoleView {
    id: String,
    scope: &'static str,
    permissions: Vec<String>,
    env_ceiling: Option<Vec<String>>,
}

#[derive(Serialize)]
struct MemberView {
    id: String,
    kind: &'static str,
    disabled: bool,
}

/// An AuthZEN request refused as a whole: a `PortcullisError` with the refusal's `code` and
/// the HTTP `status` a server answers it with.
fn authzen_error(e: &portcullis::authzen::AuthzenError) -> JsValue {
    let err = error(e.code(), &e.to_string());
    // Setting a property on a fresh Error object cannot fail.
    let _ = js_sys::Reflect::set(
        &err,
        &JsValue::from_str("status"),
        &JsValue::from_f64(f64::from(e.status())),
    );
    err
}

#[wasm_bindgen]
impl Authorizer {
    /// Answers an AuthZEN request body for one endpoint (`evaluation`, `evaluations`,
    /// `search/subject`, `search/resource`, `search/action`) as JSON text, deciding at `now`
    /// (Unix seconds); `reasons` puts the reason, rule and bundle version in each answer's
    /// `context`. A refused body throws its code and status.
    pub fn authzen(
        &self,
        endpoint: &str,
        body: &[u8],
        now: f64,
        reasons: bool,
    ) -> Result<String, JsValue> {
        use portcullis::authzen::{self, Endpoint};
        let Some(endpoint) = Endpoint::from_path(endpoint) else {
            return Err(error(
                "invalid_argument",
                &format!("`{endpoint}` is not an AuthZEN endpoint"),
            ));
        };
        authzen::answer(&self.inner, endpoint, body, now as i64, reasons)
            .map(|answered| answered.body.to_string())
            .map_err(|e| authzen_error(&e))
    }

    /// Whether `endpoint` (`evaluation`, `search/subject`, …) is an AuthZEN endpoint.
    #[wasm_bindgen(js_name = isAuthzenEndpoint)]
    pub fn is_authzen_endpoint(endpoint: &str) -> bool {
        portcullis::authzen::Endpoint::from_path(endpoint).is_some()
    }

    /// Whether a PEP whose token is `session` may call the AuthZEN `endpoint`: a service
    /// token whose client holds the endpoint's permission (`pdp:evaluate`, `pdp:search`).
    #[wasm_bindgen(js_name = authzenMayCall)]
    pub fn authzen_may_call(
        &self,
        session: &Session,
        endpoint: &str,
        now: f64,
    ) -> Result<bool, JsValue> {
        let endpoint = portcullis::authzen::Endpoint::from_path(endpoint).ok_or_else(|| {
            error(
                "invalid_argument",
                &format!("`{endpoint}` is not an AuthZEN endpoint"),
            )
        })?;
        let token = self.session(session)?;
        Ok(portcullis::authzen::pep_may_call(
            &self.inner,
            token,
            endpoint,
            now as i64,
        ))
    }

    /// An AuthZEN access evaluation's decision, from its request body as JSON text: `1` to
    /// permit, `0` to deny (the answer `{"decision": …}` without a context, which JavaScript
    /// builds without parsing any). A refused body throws as [`Authorizer::authzen`] does.
    #[wasm_bindgen(js_name = authzenDecision)]
    pub fn authzen_decision(&self, body: &str, now: f64) -> Result<u32, JsValue> {
        let request = portcullis::authzen::EvaluationRequest::parse(body.as_bytes())
            .map_err(|e| authzen_error(&e))?;
        let decision = portcullis::authzen::decide(&self.inner, &request, now as i64);
        Ok(u32::from(decision.allowed))
    }

    /// The declared permissions, in declaration order.
    #[wasm_bindgen(js_name = declaredPermissions)]
    pub fn declared_permissions(&self) -> Result<JsValue, JsValue> {
        to_js(&self.inner.policy().permissions().names())
    }

    /// The environments of the organization.
    pub fn environments(&self) -> Result<JsValue, JsValue> {
        let ids: Vec<&str> = self
            .inner
            .policy()
            .data()
            .envs
            .iter()
            .map(|e| e.id.as_str())
            .collect();
        to_js(&ids)
    }

    /// Every role with the permissions it grants (the roles × permissions matrix).
    pub fn roles(&self) -> Result<JsValue, JsValue> {
        let policy = self.inner.policy();
        let table = policy.permissions();
        let roles: Vec<RoleView> = policy
            .data()
            .roles
            .iter()
            .map(|r| RoleView {
                id: r.id.to_string(),
                scope: if r.scope == portcullis::model::RoleScope::Org {
                    "org"
                } else {
                    "env"
                },
                permissions: table.names_of(&r.permissions),
                env_ceiling: r.env_ceiling.as_ref().map(|c| table.names_of(c)),
            })
            .collect();
        to_js(&roles)
    }

    /// The users and services of the organization.
    pub fn members(&self) -> Result<JsValue, JsValue> {
        let members: Vec<MemberView> = self
            .inner
            .policy()
            .data()
            .members
            .iter()
            .map(|m| MemberView {
                id: m.client_id.clone().unwrap_or_else(|| m.id.clone()),
                kind: if m.kind == portcullis::model::MemberKind::Service {
                    "service"
                } else {
                    "user"
                },
                disabled: m.disabled,
            })
            .collect();
        to_js(&members)
    }

    /// Unsigned previews only: a token for the preview's test issuer, so the playground can
    /// ask questions as any member. Throws on a signed bundle.
    #[wasm_bindgen(js_name = previewToken)]
    pub fn preview_token(&self, claims: JsValue) -> Result<String, JsValue> {
        if self.inner.provenance() != portcullis::Provenance::UnsignedPreview {
            return Err(error(
                "not_a_preview",
                "preview tokens exist only for unsigned previews",
            ));
        }
        let c: PreviewClaims = from_js(claims, "claims")?;
        let kind = match c.kind.as_deref() {
            None if c.env.is_some() => portcullis::TokenKind::EnvAuth,
            None => portcullis::TokenKind::OrgAuth,
            Some(k) => portcullis::TokenKind::parse(k).ok_or_else(|| {
                error(
                    "invalid_argument",
                    &format!("claims.kind: `{k}` is not a token kind"),
                )
            })?,
        };
        let now = c.now.unwrap_or_else(clock_now);
        let claims = portcullis::tools::mint::Claims {
            iss: portcullis::tools::expect::TEST_ISSUER.into(),
            sub: c.sub.clone(),
            aud: portcullis::tools::expect::TEST_ISSUER.into(),
            exp: now + c.ttl.unwrap_or(600).clamp(1, 3600),
            iat: now,
            nbf: None,
            jti: format!("preview-{}-{now}", c.sub),
            org: self.inner.policy().org().to_owned(),
            env: if kind == portcullis::TokenKind::EnvAuth {
                c.env
            } else {
                None
            },
            client_id: c.client_id,
            scope: c.scope,
        };
        let key = portcullis::tools::expect::test_signing_key();
        Ok(portcullis::tools::mint::mint_eddsa(
            &key,
            portcullis::tools::expect::TEST_KID,
            kind,
            &claims,
        ))
    }
}

impl Authorizer {
    fn around(inner: portcullis::Authorizer) -> Self {
        Authorizer {
            inner,
            rules: std::cell::RefCell::default(),
            scratch: std::cell::RefCell::default(),
            atoms: std::cell::RefCell::default(),
        }
    }

    /// The session's token and its facts under this authorizer, worked out on first use
    /// (refused as [`Authorizer::session`] refuses it).
    fn session_facts<'s>(
        &self,
        session: &'s Session,
    ) -> Result<(&'s VerifiedToken, portcullis::TokenFacts), JsValue> {
        // Facts are kept only for a session an authorizer of this bundle accepted, and
        // neither side's bundle version changes: facts it made mean the check below passed.
        if let Some(facts) = session.facts.get() {
            if self.inner.made(&facts) {
                return Ok((&session.token, facts));
            }
        }
        let token = self.session(session)?;
        let facts = self.inner.token_facts(token);
        session.facts.set(Some(facts));
        Ok((token, facts))
    }

    /// Decides the next encoded request of `words` (names, then attributes).
    fn decide_next(
        &self,
        token: &VerifiedToken,
        facts: &portcullis::TokenFacts,
        words: &mut encoded::Words<'_>,
        now: i64,
    ) -> u32 {
        match words.names() {
            Some(names) => self.decide_names(token, facts, names, Some(words), now),
            None => ASK_AGAIN,
        }
    }

    /// Decides a request given as interned names: action, type, env, id, org (0: absent),
    /// with its attributes read from `attrs` (none when `None`).
    fn decide_names(
        &self,
        token: &VerifiedToken,
        facts: &portcullis::TokenFacts,
        [action, resource_type, env, id, org]: [u32; 5],
        attrs: Option<&mut encoded::Words<'_>>,
        now: i64,
    ) -> u32 {
        let atoms = self.atoms.borrow();
        let atom = |n: u32| n.checked_sub(1).and_then(|i| atoms.get(i as usize));
        let optional = |n: u32| {
            if n == 0 {
                Some(None)
            } else {
                atom(n).map(Some)
            }
        };
        let (Some(action), Some(resource_type), Some(env), Some(id), Some(org)) = (
            atom(action),
            atom(resource_type),
            optional(env),
            optional(id),
            optional(org),
        ) else {
            return ASK_AGAIN;
        };
        let resolved = portcullis::Resolved::combine(
            &action.meaning,
            env.map(|a| &a.meaning),
            org.map(|a| &a.meaning),
        );
        let mut scratch = self.scratch.borrow_mut();
        let Scratch {
            request,
            attr_names,
            parked,
        } = &mut *scratch;
        fill_request(
            request,
            &action.text,
            &resource_type.text,
            env.map(|a| a.text.as_str()),
            id.map(|a| a.text.as_str()),
            org.map(|a| a.text.as_str()),
        );
        let attributes = &mut request.resource.attrs;
        match attrs {
            // The (empty) parked map takes the attributes' place: nothing is allocated or
            // freed. At most one of the two maps holds entries.
            None => {
                if !attributes.is_empty() {
                    std::mem::swap(attributes, parked);
                }
            }
            Some(words) => {
                if attributes.is_empty() {
                    std::mem::swap(attributes, parked);
                }
                let text = |n: u32| atom(n).map(|a| a.text.as_str());
                if words.attrs(attributes, attr_names, text).is_none() {
                    return ASK_AGAIN;
                }
            }
        }
        let decision = self
            .inner
            .check_resolved(token, facts, request, &resolved, now);
        match self.rules.try_borrow_mut() {
            Ok(mut rules) => pack(&decision, &mut rules),
            Err(_) => ASK_AGAIN,
        }
    }
}
