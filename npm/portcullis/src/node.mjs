// Node, ESM entry: the browser build's wasm-bindgen glue, given the wasm's bytes from the file
// beside it (synchronously, so the package is ready when the import resolves), with the fast
// path installed. It is native ESM: going through Node's CommonJS loader (`createRequire` of
// index.cjs) cost about 2 ms of every cold start. The policy compiler's module is loaded
// (synchronously) on the first `compilePolicy`. `init` and `initCompiler` exist so that code
// written for browsers runs unchanged. scripts/build-npm bundles this file, the glue and the
// helpers into dist/node/index.mjs (esbuild).
import { Authorizer as GlueAuthorizer, Session as GlueSession, initSync } from "./portcullis.js";
import { initSync as initCompilerSync, compilePreviewBody } from "./portcullis_compiler.js";
import { install } from "./fast.mjs";
import { previewCompiler } from "./preview.mjs";
import { sharedBindings } from "./shared.mjs";

// `process.getBuiltinModule` (Node ≥ 20.16) skips the ESM import of a builtin, which costs a
// millisecond or more the first time.
const fs = process.getBuiltinModule?.("node:fs") ?? (await import("node:fs"));

const bindings = sharedBindings(() => {
  initSync({ module: fs.readFileSync(new URL("./portcullis_bg.wasm", import.meta.url)) });
  install(GlueAuthorizer);
  let compilerLoaded = false;
  const compilePolicy = previewCompiler(GlueAuthorizer, () => {
    if (!compilerLoaded) {
      initCompilerSync({ module: fs.readFileSync(new URL("./portcullis_compiler_bg.wasm", import.meta.url)) });
      compilerLoaded = true;
    }
    return { compilePreviewBody };
  });
  /** Loads the policy compiler ahead of `compilePolicy`; Node loads it on first use anyway. */
  async function initCompiler() {}
  return { Authorizer: GlueAuthorizer, Session: GlueSession, compilePolicy, initCompiler };
});

export const { Authorizer, Session, compilePolicy, initCompiler } = bindings;

export default async function init() {}
