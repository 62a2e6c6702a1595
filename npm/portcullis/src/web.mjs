// Browsers and bundlers, ESM entry. Call the default export once before anything else:
//   await init();                                  // fetches portcullis_bg.wasm next to this file
//   await init({ module_or_path: url or bytes });  // or from a URL, a Response or bytes
// and, only where policies are compiled in the page (a playground), `await initCompiler()`
// (portcullis_compiler_bg.wasm, or `{ module_or_path }` likewise) before `compilePolicy`.
import { Authorizer as WasmAuthorizer } from "./portcullis.js";
import { authorizerClass } from "./fast.mjs";
import initCompilerModule, { compilePreviewBody } from "./portcullis_compiler.js";
import { portcullisError, previewCompiler } from "./preview.mjs";

export const Authorizer = authorizerClass(WasmAuthorizer);

let compilerLoaded = false;

/** Loads the policy compiler's wasm; `compilePolicy` needs it. */
export async function initCompiler(options) {
  await initCompilerModule(options);
  compilerLoaded = true;
}

export const compilePolicy = previewCompiler(Authorizer, () => {
  if (!compilerLoaded) {
    throw portcullisError("compiler_not_loaded", "call `await initCompiler()` once before `compilePolicy`");
  }
  return { compilePreviewBody };
});

/** The AuthZEN HTTP handler serves Node's `http` module; in a page, use `Authorizer.authzen`. */
export function authzenHandler() {
  throw portcullisError("not_in_browsers", "authzenHandler is for Node's http server; call Authorizer.authzen instead");
}

export { Session, initSync } from "./portcullis.js";
export { default } from "./portcullis.js";
