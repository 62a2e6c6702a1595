// `compilePolicy`: the policy compiler is a wasm module of its own (portcullis_compiler),
// loaded only when a preview is compiled, so that loading the package and deciding never
// pays for it. It turns a source into an unsigned bundle body; the authorizer module makes the
// preview from that body.

/** A `PortcullisError` like those the wasm side throws: an `Error` with a stable `code`. */
export function portcullisError(code, message, errors) {
  const err = new Error(message);
  err.name = "PortcullisError";
  err.code = code;
  if (errors !== undefined) err.errors = errors;
  return err;
}

/**
 * `compilePolicy(source, org?)` over `Authorizer` and a function that returns the compiler
 * module's bindings (or throws when they cannot be had). It is called until it returns them,
 * then never again.
 */
export function previewCompiler(Authorizer, loadCompiler) {
  let loaded;
  return function compilePolicy(source, org) {
    if (typeof source !== "string") throw portcullisError("invalid_argument", "source: expected a string");
    if (org !== undefined && org !== null && typeof org !== "string") {
      throw portcullisError("invalid_argument", "org: expected a string");
    }
    loaded ??= loadCompiler();
    const compiler = loaded;
    let body;
    try {
      body = compiler.compilePreviewBody(source, org ?? undefined);
    } catch (e) {
      if (typeof e !== "string") throw e;
      const failure = JSON.parse(e);
      throw portcullisError(failure.code, failure.message, failure.errors);
    }
    return Authorizer.fromPreviewBody(body);
  };
}
