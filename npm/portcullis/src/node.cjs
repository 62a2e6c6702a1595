// Node, CommonJS entry: the wasm-bindgen module for Node, which loads its wasm synchronously
// when required, with the fast path installed (see shared.mjs). The policy compiler's module is
// required on the first `compilePolicy`. scripts/build-npm bundles this file, the glue and the
// helpers into dist/node/index.cjs (esbuild); the compiler's glue stays a file of its own.
const { sharedBindings } = require("./shared.mjs");

module.exports = sharedBindings(() => {
  const { Authorizer, Session } = require("./portcullis.js");
  return { Authorizer, Session, loadCompiler: () => require("./portcullis_compiler.js") };
});
