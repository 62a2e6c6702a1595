// Type declarations of the `portcullis` package (Node, browsers, bundlers).

/** One of the ten decision reasons, in precedence order. */
export type Reason =
  | "invalid_token"
  | "revoked"
  | "cross_tenant"
  | "cross_environment"
  | "env_token_required"
  | "not_a_member"
  | "explicit_deny"
  | "outside_token_scope"
  | "allowed"
  | "no_matching_grant";

/** The three token kinds. */
export type TokenKind = "orgauth" | "envauth" | "service";

/** An attribute value: a string, an integer, a boolean or a list of those. */
export type AttrValue = string | number | boolean | Array<string | number | boolean>;

/** The resource acted on. */
export interface Resource {
  /** Resource type, such as `"workflow"`. */
  type: string;
  /** Resource id. */
  id?: string;
  /** Organization, when known. */
  org?: string;
  /** Environment; absent for org-level resources. */
  env?: string;
  /** Attributes read by conditions and override selectors. */
  attrs?: Record<string, AttrValue>;
}

/** An action on a resource. */
export interface AuthzRequest {
  /** The permission asked for, `type:verb`. */
  action: string;
  resource: Resource;
  context?: { method?: string; ip?: string };
}

/** The answer to a request. */
export interface Decision {
  allowed: boolean;
  reason: Reason;
  /** Id of the deciding rule (binding, override), where there is one. */
  rule?: string;
  bundle_version: number;
  /** A stable code refining the reason: a token error, `undeclared_permission`, `above_env_ceiling`. */
  detail?: string;
  /** From `authorize`, for `invalid_token`: the token error as `verifyToken` throws it. */
  token_error?: { code: string; detail?: string; message: string };
}

/** One step of an explanation. */
export interface TraceStep {
  check: "token" | "revocation" | "tenant" | "environment" | "membership" | "deny" | "grant" | "ceiling" | "scope";
  rule?: string;
  outcome: "pass" | "fail" | "match" | "skip" | "capped";
  note: string;
}

/** A decision with every check and rule considered. */
export interface Explanation {
  decision: Decision;
  trace: TraceStep[];
}

/** A role held where the question was asked. */
export interface HeldRole {
  role: string;
  scope: "org" | "env";
  /** `direct`, `group:<id>` or `default`. */
  via: string;
  binding: string;
  conditional: boolean;
}

/** A rule limiting or extending permissions on some resources. */
export interface Restriction {
  rule: string;
  effect: "allow" | "deny" | "conditional_grant";
  permissions: string[];
  applies_to: string;
}

/** What a principal may do in one place: the `/me` answer, for UI gating. */
export interface EffectivePermissions {
  org: string;
  env: string | null;
  principal: string;
  roles: HeldRole[];
  /** Granted on every resource of their type. */
  permissions: string[];
  restrictions: Restriction[];
  bundle_version: number;
}

/** A public JSON Web Key. */
export interface Jwk {
  kty: "OKP" | "EC" | "RSA";
  kid: string;
  alg: "EdDSA" | "ES256" | "RS256";
  crv?: "Ed25519" | "P-256";
  x?: string;
  y?: string;
  n?: string;
  e?: string;
  use?: "sig";
}

/** Trusted bundle-signing keys: a JWKS, a list of JWKs or one JWK (Ed25519). */
export type TrustedKeys = { keys: Jwk[] } | Jwk[] | Jwk;

export interface LoadOptions {
  /** Unix seconds; the system clock when absent. */
  now?: number;
  /** Lowest bundle version accepted (rollback protection). */
  minVersion?: number;
}

export interface VerifyOptions {
  /** Unix seconds; the system clock when absent. */
  now?: number;
  /** Expected audience; the issuer's configured audience when absent. */
  audience?: string;
}

export interface CheckOptions {
  /** Unix seconds; the system clock when absent. */
  now?: number;
}

/** Errors thrown by the package: `code` is stable (`bundle_bad_signature`, `token_expired`, …). */
export interface PortcullisError extends Error {
  name: "PortcullisError";
  code: string;
  /** For a token error: the claim (`token_missing_claim`, `token_invalid_claim`), header
   * (`token_forbidden_header`) or malformation (`token_malformed`: `empty_signature`,
   * `padding`, `standard_base64`, …) it names. */
  detail?: string;
  /** For `policy_invalid`: every compile error. */
  errors?: Array<{ pointer: string; message: string; hint?: string }>;
}

/** The verified claims of a session. */
export interface VerifiedClaims {
  kind: TokenKind;
  iss: string;
  sub: string;
  aud: string[];
  exp: number;
  iat: number;
  nbf: number | null;
  jti: string;
  org: string;
  env: string | null;
  client_id: string | null;
  scope: string[] | null;
}

/** A verified token, from `Authorizer.verifyToken` only. */
export class Session {
  private constructor();
  readonly kind: TokenKind;
  readonly sub: string;
  readonly org: string;
  readonly env: string | undefined;
  readonly exp: number;
  toJSON(): VerifiedClaims;
  free(): void;
}

/** Decides requests against one organization's verified bundle, or an unsigned preview. */
export class Authorizer {
  private constructor();
  /** Verifies and loads a signed bundle; throws a `PortcullisError` (`bundle_*`) when refused. */
  static fromBundle(bytes: Uint8Array, trustedKeys: TrustedKeys, opts?: LoadOptions): Authorizer;
  /**
   * An unsigned preview from a bundle body made by the policy compiler (what `compilePolicy`
   * does). No signature is checked: never pass it bytes from outside the page or process.
   */
  static fromPreviewBody(body: Uint8Array): Authorizer;
  readonly version: number;
  readonly org: string;
  readonly provenance: "signed_bundle" | "unsigned_preview";
  /** Verifies a token; throws a `PortcullisError` (`token_*`) when refused. */
  verifyToken(token: string, opts?: VerifyOptions): Session;
  check(session: Session, request: AuthzRequest, opts?: CheckOptions): Decision;
  /** Decides up to 1,000 requests in order; more throws a `PortcullisError` (`batch_too_large`). */
  checkMany(session: Session, requests: AuthzRequest[], opts?: CheckOptions): Decision[];
  /**
   * Verifies and decides in one step; never throws for a bad token. A token this authorizer
   * verified before is not verified again (its expiry and revocation are checked every time).
   */
  authorize(token: string, request: AuthzRequest, opts?: VerifyOptions): Decision;
  permissions(session: Session, env?: string | null, opts?: CheckOptions): EffectivePermissions;
  explain(session: Session, request: AuthzRequest, opts?: CheckOptions): Explanation;
  /** The declared permissions, in declaration order. */
  declaredPermissions(): string[];
  /** The environments of the organization. */
  environments(): string[];
  /** Every role with what it grants: the roles × permissions matrix. */
  roles(): RoleView[];
  /** The users (by `sub`) and services (by `client_id`) of the organization. */
  members(): MemberView[];
  /** Unsigned previews only: a token of the preview's test issuer; throws `not_a_preview` otherwise. */
  previewToken(claims: PreviewClaims): string;
  /**
   * The AuthZEN Authorization API in process: an endpoint and its request body (an object,
   * JSON text or UTF-8 bytes) in, the answer's JSON text out. A refused body throws a
   * `PortcullisError` with its `code` and the HTTP `status` to answer.
   */
  authzen(endpoint: AuthzenEndpoint, body: object | string | Uint8Array, opts?: AuthzenOptions): string;
  /** Whether `endpoint` (`evaluation`, `search/subject`, …) is an AuthZEN endpoint. */
  static isAuthzenEndpoint(endpoint: string): boolean;
  /**
   * Whether a PEP whose verified token is `session` may call the AuthZEN `endpoint`: a
   * service token whose client holds `pdp:evaluate` (evaluations) or `pdp:search` (searches).
   */
  authzenMayCall(session: Session, endpoint: AuthzenEndpoint, opts?: { now?: number }): boolean;
  /** AuthZEN access evaluation. */
  evaluation(request: AuthzenEvaluation, opts?: AuthzenOptions): AuthzenAnswer;
  /** AuthZEN access evaluations: one answer per item, or one answer without `evaluations`. */
  evaluations(request: AuthzenEvaluations, opts?: AuthzenOptions): { evaluations: AuthzenAnswer[] } | AuthzenAnswer;
  /** AuthZEN subject search: which subjects of `subject.type` may do the action on the resource. */
  searchSubject(request: AuthzenSearch, opts?: AuthzenOptions): AuthzenSearchAnswer;
  /** AuthZEN resource search: which resources of `resource.type` the subject may act on. */
  searchResource(request: AuthzenSearch, opts?: AuthzenOptions): AuthzenSearchAnswer;
  /** AuthZEN action search: which actions the subject may do on the resource. */
  searchAction(request: AuthzenSearch, opts?: AuthzenOptions): AuthzenSearchAnswer;
  free(): void;
}

/** The AuthZEN endpoints `Authorizer.authzen` answers. */
export type AuthzenEndpoint = "evaluation" | "evaluations" | "search/subject" | "search/resource" | "search/action";

/** Options of the AuthZEN methods. */
export interface AuthzenOptions {
  /** The instant to decide at, Unix seconds; the clock by default. */
  now?: number;
  /** Each answer's `context` gives the reason, rule and bundle version. */
  reasons?: boolean;
}

/** An AuthZEN subject or resource. */
export interface AuthzenEntity {
  type: string;
  id: string;
  properties?: Record<string, unknown>;
}

/** An AuthZEN access evaluation request. */
export interface AuthzenEvaluation {
  subject: AuthzenEntity;
  action: { name: string; properties?: Record<string, unknown> };
  resource: AuthzenEntity;
  context?: Record<string, unknown>;
}

/** An AuthZEN access evaluations request: defaults, items and a semantic. */
export interface AuthzenEvaluations extends Partial<AuthzenEvaluation> {
  evaluations?: Partial<AuthzenEvaluation>[];
  options?: { evaluations_semantic?: "execute_all" | "deny_on_first_deny" | "permit_on_first_permit" };
}

/** An AuthZEN search request: the entity searched for has a type and no id. */
export interface AuthzenSearch {
  subject: { type: string; id?: string; properties?: Record<string, unknown> };
  action?: { name: string };
  resource: { type: string; id?: string; properties?: Record<string, unknown> };
  context?: Record<string, unknown>;
  page?: { token?: string; limit?: number };
}

/** An AuthZEN answer. */
export interface AuthzenAnswer {
  decision: boolean;
  context?:
    | { reason: Reason; rule?: string; detail?: string; bundle_version: number }
    | { error: { code: string; message: string } };
}

/** An AuthZEN search answer. */
export interface AuthzenSearchAnswer {
  results: Array<{ type: string; id: string } | { name: string }>;
  page: { next_token: string; count: number; total: number };
}

/** Options of `authzenHandler`. */
export interface AuthzenHandlerOptions {
  /** The organization's authorizer, or `undefined` when there is none. */
  authorizerFor(org: string): Authorizer | undefined;
  /** The audience PEP tokens must carry; each issuer's own by default. */
  audience?: string;
  /** Answers give the reason, rule and bundle version. */
  reasons?: boolean;
  /** The base URL of the well-known metadata; `http://<Host header>` by default. */
  baseUrl?: string;
}

/**
 * Node only: a handler for `http.createServer` serving the AuthZEN API (`/access/v1/…`,
 * `/tenants/{tenant}/access/v1/…`, `/.well-known/authzen-configuration`) with the PEP's
 * service token checked as `portcullis serve` checks it.
 */
export function authzenHandler(
  options: AuthzenHandlerOptions,
): (req: AsyncIterable<Uint8Array> & { method?: string; url?: string; headers: Record<string, string | string[] | undefined> },
    res: { headersSent: boolean; writeHead(status: number, headers: Record<string, string>): unknown; end(body: string): unknown; destroy(error?: unknown): unknown }) => Promise<void>;

/** A role and the permissions it grants. */
export interface RoleView {
  id: string;
  scope: "org" | "env";
  permissions: string[];
  env_ceiling: string[] | null;
}

/** A member of the organization. */
export interface MemberView {
  /** A user's `sub`, or a service's `client_id`. */
  id: string;
  kind: "user" | "service";
  disabled: boolean;
}

/** Claims of a preview token. */
export interface PreviewClaims {
  sub: string;
  kind?: TokenKind;
  env?: string;
  clientId?: string;
  scope?: string;
  /** Lifetime in seconds (1 to 3600; 600 by default). */
  ttl?: number;
  now?: number;
}

/**
 * Compiles a policy source into an unsigned preview authorizer (the playground). It can
 * never be made from bundle bytes. The compiler is a wasm module of its own: Node loads it on
 * the first call; browsers need `await initCompiler()` first (else `compiler_not_loaded`).
 * Errors: `policy_invalid` (with `errors`, each a JSON pointer and a message), `unknown_org`.
 */
export function compilePolicy(source: string, org?: string | null): Authorizer;

/** Loads the policy compiler's wasm (browsers: by URL, Response or bytes). A no-op in Node. */
export function initCompiler(
  input?: { module_or_path: string | URL | Request | Response | BufferSource | WebAssembly.Module },
): Promise<void>;

/** Loads the wasm (browsers: by URL, Response or bytes). A no-op in Node. */
export default function init(
  input?: { module_or_path: string | URL | Request | Response | BufferSource | WebAssembly.Module } | string | URL,
): Promise<unknown>;
