// Node, CommonJS entry: the wasm-bindgen module with the fast path installed.
const bindings = require("./portcullis.js");
require("./fast.cjs").install(bindings.Authorizer);
module.exports = bindings;
