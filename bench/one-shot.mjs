// One-shot `authorize` against jose in a process of their own: every token is new to the
// authorizer that decides it (fresh authorizers each round), and jose verifies the same
// tokens right after, in the same round. Started by run.mjs:
//
//   node bench/one-shot.mjs <package entry> <data dir> <items.json> <rounds>
//
// `items.json`: `{ bundleKeys, issuer: {iss, aud}, jwk, items: [{ org, token, request, expected }] }`.
// Prints one JSON line: `{ rounds: [{ ours, jose }] }`, ns per call.
//
// jose's `jwtVerify` waits for WebCrypto, which verifies on a thread of Node's pool: in the
// harness's own process, with hundreds of megabytes of other contenders' objects being marked
// on a second thread, it measured up to 1.9× slower than here, while Portcullis (synchronous)
// did not move. Here both sides run in a small, quiet process.
import { readFileSync, readdirSync } from "node:fs";
import path from "node:path";
import { performance } from "node:perf_hooks";
import { importJWK, jwtVerify } from "jose";

const [entry, dataDir, itemsFile, rounds] = process.argv.slice(2);
const { Authorizer } = await import(entry);
const { bundleKeys, issuer, jwk, items } = JSON.parse(readFileSync(itemsFile, "utf8"));
const bundles = new Map(readdirSync(path.join(dataDir, "bundles"))
  .map((f) => [f.replace(/\.bundle$/, ""), readFileSync(path.join(dataDir, "bundles", f))]));
const key = await importJWK(jwk, "EdDSA");
const fresh = () => new Map([...bundles].map(([org, bytes]) => [org, Authorizer.fromBundle(bytes, bundleKeys)]));

function ours(list) {
  const authorizers = fresh();
  const t0 = performance.now();
  for (const it of list) {
    const d = authorizers.get(it.org).authorize(it.token, it.request);
    if (d.reason !== it.expected) throw new Error(`one-shot: ${d.reason}, expected ${it.expected}`);
  }
  const ns = ((performance.now() - t0) * 1e6) / list.length;
  for (const a of authorizers.values()) a.free();
  return ns;
}
async function jose(list) {
  const t0 = performance.now();
  for (const it of list) await jwtVerify(it.token, key, { issuer: issuer.iss, audience: issuer.aud });
  return ((performance.now() - t0) * 1e6) / list.length;
}

const warm = items.slice(0, Math.min(items.length, 200));
ours(warm);
await jose(warm);
const out = [];
for (let r = 0; r < Number(rounds); r += 1) out.push({ ours: ours(items), jose: await jose(items) });
console.log(JSON.stringify({ rounds: out }));
