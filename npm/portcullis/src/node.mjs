// Node, ESM entry: the browser build's wasm-bindgen glue, given the wasm's bytes from the file
// beside it (synchronously, so the package is ready when the import resolves), with the fast
// path installed (see shared.mjs). It is native ESM: going through Node's CommonJS loader
// (`createRequire` of index.cjs) cost about 2 ms of every cold start. The policy compiler's
// module is loaded (synchronously) on the first `compilePolicy`. `init` and `initCompiler`
// exist so that code written for browsers runs unchanged. scripts/build-npm bundles this file,
// the glue and the helpers into dist/node/index.mjs (esbuild).
import { Authorizer as GlueAuthorizer, Session as GlueSession, initSync } from "./portcullis.js";
import { initSync as initCompilerSync, compilePreviewBody } from "./portcullis_compiler.js";
import { sharedBindings } from "./shared.mjs";

// `process.getBuiltinModule` (Node ≥ 20.16) skips the ESM import of a builtin, which costs a
// millisecond or more the first time.
const fs = process.getBuiltinModule?.("node:fs") ?? (await import("node:fs"));
const wasmBeside = (file) => ({ module: fs.readFileSync(new URL(file, import.meta.url)) });

const bindings = sharedBindings(() => {
  initSync(wasmBeside("./portcullis_bg.wasm"));
  const loadCompiler = () => {
    initCompilerSync(wasmBeside("./portcullis_compiler_bg.wasm"));
    return { compilePreviewBody };
  };
  return { Authorizer: GlueAuthorizer, Session: GlueSession, loadCompiler };
});

export const { Authorizer, Session, compilePolicy, initCompiler, authzenHandler } = bindings;

export default async function init() {}
