// Node, ESM entry. The CommonJS build loads its wasm synchronously, so there is nothing to
// initialize; `init` exists so that code written for browsers runs unchanged.
import bindings from "./portcullis.js";
import { install } from "./fast.mjs";

install(bindings.Authorizer);

export const { Authorizer, Session, compilePolicy } = bindings;

export default async function init() {}
