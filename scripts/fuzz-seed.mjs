// Seeds the fuzz corpora (fuzz/corpus/<target>/) from the test vectors, the example
// policies and the policy blocks of docs/: one file per input, named by its SHA-1 like the
// files libFuzzer writes. Idempotent: existing files are kept.
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, readdirSync, writeFileSync, existsSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const read = (p) => readFileSync(join(root, p));
const json = (p) => JSON.parse(read(p));

let added = 0;
function seed(target, bytes) {
  const dir = join(root, 'fuzz', 'corpus', target);
  mkdirSync(dir, { recursive: true });
  const buf = Buffer.from(bytes);
  const file = join(dir, createHash('sha1').update(buf).digest('hex'));
  if (!existsSync(file)) {
    writeFileSync(file, buf);
    added += 1;
  }
}

const decisions = json('tests/vectors/decisions.json');
const bundles = json('tests/vectors/bundles.json');
const attacks = json('tests/vectors/attacks.json');

// token_verify: raw tokens, and `0x01 header \n payload` for the unsigned path.
const tokens = [...decisions.cases, ...attacks.cases].map((c) => c.token).filter(Boolean);
for (const token of tokens) {
  seed('token_verify', token);
  const [h, p] = token.split('.');
  try {
    const header = Buffer.from(h, 'base64url');
    const payload = Buffer.from(p ?? '', 'base64url');
    seed('token_verify', Buffer.concat([Buffer.from([1]), header, Buffer.from('\n'), payload]));
    // token_json: the segments' JSON alone.
    seed('token_json', header);
    seed('token_json', payload);
  } catch {
    // Not base64url: the raw form is enough.
  }
}

// bundle_decode: whole signed bundles and their bodies alone.
const headerLength = (bytes) => {
  // magic 4, format 2, reserved 2, version 8, issued_at 8, not_after 8, org and kid (a length
  // byte each), body length (u32 LE), body, signature (64).
  let at = 32;
  for (let field = 0; field < 2; field += 1) at += 1 + bytes[at];
  return [at + 4, bytes.readUInt32LE(at)];
};
for (const b of [...decisions.bundles, ...bundles.cases]) {
  if (!b.bundle) continue;
  const bytes = Buffer.from(b.bundle, 'base64');
  seed('bundle_decode', bytes);
  try {
    const [start, length] = headerLength(bytes);
    if (start + length <= bytes.length) seed('bundle_decode', bytes.subarray(start, start + length));
  } catch {
    // A malformed bundle case: seeded whole above.
  }
}

// policy_compile: the examples and every `json policy` block of docs/.
for (const f of readdirSync(join(root, 'examples'))) {
  if (f.endsWith('.json') && !f.endsWith('.test.json')) seed('policy_compile', read(join('examples', f)));
}
for (const f of readdirSync(join(root, 'docs'))) {
  if (!f.endsWith('.md')) continue;
  const text = read(join('docs', f)).toString();
  for (const m of text.matchAll(/```json policy\n([\s\S]*?)```/g)) seed('policy_compile', m[1]);
}

// route_match and decision take structured input (arbitrary): a few byte strings to start
// from; the committed corpora grow from fuzzing runs (scripts/fuzz run).
for (const target of ['route_match', 'decision']) {
  seed(target, 'GET\0/v1/envs/{env}/workflows/{id}\0client-a-dev.api.example\0/v1/envs/client-a-dev/workflows/wf-orders');
  seed(target, Buffer.from(Array.from({ length: 64 }, (_, i) => (i * 37) & 0xff)));
}

// authzen_request: the first byte picks the endpoint, the rest is the body: the interop
// decisions' requests and the example evaluations.
for (const f of readdirSync(join(root, 'tests', 'authzen', 'todo'))) {
  if (!f.endsWith('.json')) continue;
  const file = json(join('tests', 'authzen', 'todo', f));
  for (const c of [...(file.evaluation ?? []), ...(file.decisions ?? [])]) seed('authzen_request', Buffer.concat([Buffer.from([0]), Buffer.from(JSON.stringify(c.request))]));
  for (const c of file.evaluations ?? []) seed('authzen_request', Buffer.concat([Buffer.from([1]), Buffer.from(JSON.stringify(c.request))]));
}
for (const [kind, body] of [
  [2, { subject: { type: 'user' }, action: { name: 'can_read_todos' }, resource: { type: 'todo', id: 't-1' } }],
  [3, { subject: { type: 'user', id: 'rick' }, action: { name: 'can_read_todos' }, resource: { type: 'todo' }, page: { limit: 2 } }],
  [4, { subject: { type: 'user', id: 'morty' }, resource: { type: 'todo', id: 't', properties: { ownerID: 'morty@the-citadel.com' } } }],
]) seed('authzen_request', Buffer.concat([Buffer.from([kind]), Buffer.from(JSON.stringify(body))]));

// control_request: the first byte picks what the rest is (see the target): paths, the seed's
// bodies, activity events, and a body for each write call (the byte's upper part picks it).
const pick = (kind, n = 0) => Buffer.from([kind + 5 * n]);
for (const [m, p] of [[0, '/iam/users'], [1, '/iam/users'], [0, '/orgs/northwind/iam/users/jane.doe%40example.com'],
  [4, '/iam/users/bob'], [3, '/iam/users/bob'], [1, '/iam/users/alice/roles'], [4, '/iam/groups/ops/members/alice'],
  [0, '/iam/export'], [2, '/iam/import'], [0, '/me'], [0, '/iam/users/a%2Fb']]) seed('control_request', Buffer.concat([pick(0, m), Buffer.from(p)]));
for (const b of ['["Admin", "jane.doe@example.com"]', '{"userId": "kim@example.com", "accessLevel": "Read", "name": "Kim"}', '{"userId": "dev@example.com"}'])
  seed('control_request', Buffer.concat([pick(1), Buffer.from(b)]));
seed('control_request', Buffer.concat([pick(2), Buffer.from('{"accessLevel": "Read"}')]));
seed('control_request', Buffer.concat([pick(3), Buffer.from(JSON.stringify({ org: 'northwind', sub: 'bob', action: 'workflow:read',
  resource: 'workflow/wf-1', env: 'nw-staging', reason: 'allowed', time: 1796000000, token: '0123456789abcdef' }))]));
const writes = [
  '["Read", "fuzz@example.com"]',
  '{"accessLevel": "Write"}',
  '{"role": "Write", "not_after": "2027-01-01T00:00:00Z"}',
  '{"id": "ops", "description": "operations"}',
  '{"id": "everyone-reads", "role": "Read"}',
  '{"id": "o-1", "effect": "allow", "user": "alice", "permissions": ["template:read"], "resource": {"type": "template", "id": "tmpl-*"}}',
  '{"id": "ci", "client_id": "svc-ci"}',
  '{"sub": "bob", "before": "2026-12-01T00:00:00Z"}',
];
writes.forEach((b, n) => seed('control_request', Buffer.concat([pick(4, n), Buffer.from(b)])));

console.log(`fuzz corpora: ${added} new seed file(s)`);
