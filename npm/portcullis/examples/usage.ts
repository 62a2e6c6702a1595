// A typed usage example; CI compiles it with `tsc --noEmit --strict` against the packed package.
import init, { Authorizer, authzenHandler, compilePolicy, type AuthzRequest, type AuthzenAnswer, type Decision, type EffectivePermissions, type PortcullisError } from "portcullis";

export async function gate(bundle: Uint8Array, keys: { keys: Array<{ kty: "OKP"; crv: "Ed25519"; kid: string; alg: "EdDSA"; x: string }> }, token: string): Promise<boolean[]> {
  await init();
  const authz: Authorizer = Authorizer.fromBundle(bundle, keys, { minVersion: 1 });
  const requests: AuthzRequest[] = ["workflow:read", "workflow:edit"].map((action) => ({
    action,
    resource: { type: "workflow", id: "wf-1", env: "client-a-dev", attrs: { sensitive: false } },
  }));
  let decisions: Decision[];
  try {
    const session = authz.verifyToken(token, { audience: "https://api.integrations.example" });
    decisions = authz.checkMany(session, requests);
    const me: EffectivePermissions = authz.permissions(session, session.env ?? null);
    const firstRole: string | undefined = me.roles[0]?.role;
    void firstRole;
    const trace = authz.explain(session, requests[0]!).trace.map((s) => `${s.check}:${s.outcome}`);
    void trace;
  } catch (e) {
    const err = e as PortcullisError;
    if (err.code.startsWith("token_")) return requests.map(() => false);
    throw err;
  }
  const one: Decision = authz.authorize(token, requests[0]!);
  const reason: "allowed" | "no_matching_grant" | string = one.reason;
  void reason;
  const preview = compilePolicy("{}", null);
  void preview.provenance;
  return decisions.map((d) => d.allowed);
}

/** The AuthZEN API in process, and as a handler for Node's http server. */
export function pdp(authz: Authorizer): boolean {
  const answer: AuthzenAnswer = authz.evaluation({
    subject: { type: "user", id: "morty@the-citadel.com" },
    action: { name: "can_update_todo" },
    resource: { type: "todo", id: "t-1", properties: { ownerID: "morty@the-citadel.com" } },
  }, { reasons: true });
  const page = authz.searchResource({ subject: { type: "user", id: "dan" }, action: { name: "edit" }, resource: { type: "record" } });
  void page.page.next_token;
  const handler = authzenHandler({ authorizerFor: (org) => (org === authz.org ? authz : undefined) });
  void handler;
  return answer.decision;
}
