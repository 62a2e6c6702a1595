// Installs the packed `portcullis` tarball into a fresh temporary project, as a user would.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readdirSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

export function installPackage() {
  const dir = mkdtempSync(path.join(tmpdir(), "portcullis-npm-"));
  const tarball = readdirSync(path.join(root, "out/npm")).find((f) => f.startsWith("portcullis-") && f.endsWith(".tgz"));
  if (!tarball) throw new Error("no tarball in out/npm: run scripts/build-npm");
  writeFileSync(path.join(dir, "package.json"), JSON.stringify({ name: "consumer", private: true, type: "module" }));
  execFileSync("npm", ["install", "--no-audit", "--no-fund", "--loglevel=error", path.join(root, "out/npm", tarball)], { cwd: dir });
  // An ESM module inside the consumer, so that `import "portcullis"` goes through the
  // package's exports map exactly as in a user's project.
  writeFileSync(path.join(dir, "entry.mjs"), 'export * from "portcullis";\nexport { default } from "portcullis";\n');
  const require = createRequire(path.join(dir, "package.json"));
  return {
    dir,
    cjs: () => require("portcullis"),
    esm: () => import(pathToFileURL(path.join(dir, "entry.mjs")).href),
  };
}
