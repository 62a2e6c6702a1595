// The npm package's `authzenHandler` on Node's http server, in a process of its own, for the
// AuthZEN side by side (bench/authzen.mjs):
//   node bench/authzen-node.mjs <package entry> <bundle> <trusted JWK>
// Prints `{ "port": N }` once listening on 127.0.0.1.
import http from "node:http";
import { readFileSync } from "node:fs";

const [entry, bundleFile, jwkFile] = process.argv.slice(2);
const { Authorizer, authzenHandler } = await import(entry);
const a = Authorizer.fromBundle(readFileSync(bundleFile), [JSON.parse(readFileSync(jwkFile, "utf8"))]);
const server = http.createServer({ keepAliveTimeout: 60_000 }, authzenHandler({ authorizerFor: (org) => (org === a.org ? a : undefined) }));
server.listen(0, "127.0.0.1", () => console.log(JSON.stringify({ port: server.address().port })));
process.on("SIGTERM", () => server.close(() => process.exit(0)));
