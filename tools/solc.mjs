#!/usr/bin/env node
// Offline Solidity compiler: the official wasm build (npm `solc`) behind the command line that
// py-solc-x / ape-solidity expect of a native `solc` binary. Only what they use is supported:
//   --version, and --standard-json [--base-path P] [--include-path P]... [--allow-paths A,B]
// reading the standard-JSON input on stdin and writing the standard-JSON output on stdout.
// Why not the package's own `solcjs` CLI: it prints a non-JSON SMT line on stdout, can fail with
// EAGAIN on a large stdin, and interleaves its two outputs.
import { createRequire } from "node:module";
import { readFileSync, readSync, existsSync, realpathSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(path.join(here, "..", "package.json"));
const solc = require("solc");

function fail(message) {
  process.stderr.write(`Error: ${message}\n`);
  process.exit(1);
}

const args = process.argv.slice(2);
if (args.includes("--version")) {
  // Native solc prints this two-line banner; py-solc-x parses "Version: X.Y.Z+commit.H".
  process.stdout.write(
    `solc, the solidity compiler commandline interface\nVersion: ${solc.version()}\n`,
  );
  process.exit(0);
}
if (args.includes("--help") || args.length === 0) {
  process.stdout.write(
    "Skillchain offline solc (wasm). Usage: solc --standard-json [--base-path P] " +
      "[--include-path P]... [--allow-paths A,B] < input.json\n       solc --version\n",
  );
  process.exit(0);
}

let basePath = process.cwd();
const includePaths = [];
for (let i = 0; i < args.length; i++) {
  const a = args[i];
  if (a === "--standard-json" || a === "-") continue;
  if (a === "--base-path") basePath = args[++i];
  else if (a === "--include-path") includePaths.push(args[++i]);
  else if (a === "--allow-paths") i++;
  else if (a.startsWith("--base-path=")) basePath = a.slice(12);
  else if (a.startsWith("--include-path=")) includePaths.push(a.slice(15));
  else if (a.startsWith("--allow-paths=")) continue;
  else fail(`unsupported argument ${a} (this wrapper only supports --standard-json)`);
}
const roots = [basePath, ...includePaths].map((p) => path.resolve(p));

function findImport(importPath) {
  const candidates = path.isAbsolute(importPath)
    ? [importPath]
    : roots.map((r) => path.join(r, importPath));
  for (const c of candidates) {
    if (existsSync(c)) return { contents: readFileSync(realpathSync(c), "utf8") };
  }
  return { error: `File not found: ${importPath} (searched ${roots.join(", ")})` };
}

// Read all of stdin synchronously in chunks: robust for large inputs (no EAGAIN on a pipe).
const chunks = [];
const buf = Buffer.alloc(1 << 16);
for (;;) {
  let n;
  try {
    n = readSync(0, buf, 0, buf.length, null);
  } catch (e) {
    if (e.code === "EAGAIN") {
      await new Promise((r) => setTimeout(r, 5));
      continue;
    }
    if (e.code === "EOF") break;
    throw e;
  }
  if (!n) break;
  chunks.push(Buffer.from(buf.subarray(0, n)));
}
const input = JSON.parse(Buffer.concat(chunks).toString("utf8"));

// Sources given by URL (file paths) are read here, as native solc would.
for (const [name, src] of Object.entries(input.sources ?? {})) {
  if (src.content === undefined && Array.isArray(src.urls)) {
    const found = src.urls.map((u) => findImport(u)).find((r) => r.contents !== undefined);
    if (!found) fail(`cannot read source ${name} from ${src.urls.join(", ")}`);
    input.sources[name] = { content: found.contents };
  }
}

const output = solc.compile(JSON.stringify(input), { import: findImport });
process.stdout.write(output);
process.stdout.write("\n");
