// Browsers and bundlers, ESM entry. Call the default export once before anything else:
//   await init();                                  // fetches portcullis_bg.wasm next to this file
//   await init({ module_or_path: url or bytes });  // or from a URL, a Response or bytes
export { Authorizer, Session, compilePolicy, initSync } from "./portcullis.js";
export { default } from "./portcullis.js";
