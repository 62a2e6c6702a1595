// Node, CommonJS entry: the wasm-bindgen module with the fast path installed. The policy
// compiler's module is loaded (synchronously) on the first `compilePolicy`. scripts/build-npm
// bundles this file, the glue and the helpers into dist/node/index.cjs (esbuild).
const { sharedBindings } = require("./shared.mjs");

module.exports = sharedBindings(() => {
  const { Authorizer, Session } = require("./portcullis.js");
  require("./fast.mjs").install(Authorizer);
  const { previewCompiler } = require("./preview.mjs");
  let compiler;
  const compilePolicy = previewCompiler(Authorizer, () => {
    compiler ??= require("./portcullis_compiler.js");
    return compiler;
  });
  /** Loads the policy compiler ahead of `compilePolicy`; Node loads it on first use anyway. */
  async function initCompiler() {}
  return { Authorizer, Session, compilePolicy, initCompiler };
});
