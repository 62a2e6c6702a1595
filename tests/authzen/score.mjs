// The working group's Todo decision files (tests/authzen/todo), scored as its runner scores
// them: `decision` compared, a missing one counting as false; a batch's `evaluations`
// compared exactly. Shared by the tests of every surface.
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const dir = path.join(path.dirname(fileURLToPath(import.meta.url)), "todo");

/** Each file with the number of cases it holds. */
export const TODO_FILES = [
  ["decisions-authorization-api-1_0-02.json", 43],
  ["decisions-authorization-api-1_0-01.json", 40],
  ["decisions-authorization-api-1_0-00.json", 40],
  ["decisions.json", 40],
];

/**
 * Scores one file: `evaluate(request)` answers a single evaluation (`{ decision }`),
 * `batch(request)` a batch (`{ evaluations }`); either may return a promise. Returns
 * `{ passed, total }`.
 */
export async function scoreTodoFile(file, evaluate, batch) {
  const cases = JSON.parse(readFileSync(path.join(dir, file), "utf8"));
  let passed = 0;
  let total = 0;
  for (const c of cases.evaluation ?? cases.decisions ?? []) {
    total += 1;
    if (((await evaluate(c.request)).decision ?? false) === c.expected) passed += 1;
  }
  for (const c of cases.evaluations ?? []) {
    total += 1;
    if (JSON.stringify((await batch(c.request)).evaluations) === JSON.stringify(c.expected)) passed += 1;
  }
  return { passed, total };
}
