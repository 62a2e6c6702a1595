// Node has two entries, `import` (index.mjs) and `require` (index.cjs), each a bundle of its own.
// A process that uses both (an ESM application with a CommonJS dependency, say) still gets one
// wasm instance and one `Authorizer` class: the first entry to load registers its bindings
// under a key of this package version, and the other uses them. Another version of the package
// in the same process has a key of its own. scripts/build-npm defines PORTCULLIS_VERSION.

/** The bindings registered for this package version, made by `load` if there are none yet. */
export function sharedBindings(load) {
  const key = Symbol.for(`portcullis.node@${PORTCULLIS_VERSION}`);
  globalThis[key] ??= load();
  return globalThis[key];
}
