// Node, ESM entry. It loads the CommonJS build (which loads its wasm synchronously and installs
// the fast path) through `createRequire`: Node's ESM translation of a CommonJS module would
// parse the whole generated file for its exports first, which costs more than the rest of the
// import. ESM and CommonJS consumers in one process share one instance. `init` and
// `initCompiler` exist so that code written for browsers runs unchanged.
import { createRequire } from "node:module";

const bindings = createRequire(import.meta.url)("./index.cjs");

export const { Authorizer, Session, compilePolicy, initCompiler } = bindings;

export default async function init() {}
