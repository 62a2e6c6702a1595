// What Node's two entries, `import` (index.mjs) and `require` (index.cjs), have in common. Each
// is a bundle of its own over its own wasm-bindgen glue; both make their bindings here, the same
// way. A process that uses both (an ESM application with a CommonJS dependency, say) still gets
// one wasm instance and one `Authorizer` class: the first entry to load registers its bindings
// under a key of this package version, and the other uses them. Another version of the package
// in the same process has a key of its own. scripts/build-npm defines PORTCULLIS_VERSION.
import { authorizerClass } from "./fast.mjs";
import { previewCompiler } from "./preview.mjs";
import { authzenHandlerFor } from "./authzen-http.mjs";

/**
 * The bindings registered for this package version. If there are none yet, `instantiate` is
 * called once: it loads the wasm and returns `{ Authorizer, Session, loadCompiler }`, where
 * `loadCompiler` loads the policy compiler's module (synchronously) and returns its bindings.
 */
export function sharedBindings(instantiate) {
  const key = Symbol.for(`portcullis.node@${PORTCULLIS_VERSION}`);
  if (globalThis[key] === undefined) {
    const { Authorizer: WasmAuthorizer, Session, loadCompiler } = instantiate();
    const Authorizer = authorizerClass(WasmAuthorizer);
    /** Loads the policy compiler ahead of `compilePolicy`; Node loads it on first use anyway. */
    async function initCompiler() {}
    globalThis[key] = { Authorizer, Session, compilePolicy: previewCompiler(Authorizer, loadCompiler), initCompiler, authzenHandler: authzenHandlerFor(Authorizer) };
  }
  return globalThis[key];
}
