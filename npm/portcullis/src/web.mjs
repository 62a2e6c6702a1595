// Browsers and bundlers, ESM entry. Call the default export once before anything else:
//   await init();                                  // fetches portcullis_bg.wasm next to this file
//   await init({ module_or_path: url or bytes });  // or from a URL, a Response or bytes
import { Authorizer } from "./portcullis.js";
import { install } from "./fast.mjs";

install(Authorizer);

export { Authorizer, Session, compilePolicy, initSync } from "./portcullis.js";
export { default } from "./portcullis.js";
