#!/usr/bin/env node
// Offline Solidity compiler: the official wasm build (npm `solc`) behind the command line that
// py-solc-x / ape-solidity expect of a native `solc` binary. Only what they use is supported:
//   --version, and --standard-json [--base-path P] [--include-path P]... [--allow-paths A,B]
// reading the standard-JSON input on stdin and writing the standard-JSON output on stdout.
// Why not the package's own `solcjs` CLI: it prints a non-JSON SMT line on stdout, can fail with
// EAGAIN on a large stdin, and interleaves its two outputs.
import { createRequire } from "node:module";
import { readFileSync, readSync, writeSync, existsSync, realpathSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(path.join(here, "..", "package.json"));
// SOLC_JS_PACKAGE picks another npm alias of the compiler (benchmarks compile peers with their own pin).
const solc = require(process.env.SOLC_JS_PACKAGE || "solc");

// Synchronous, complete write to stdout: process.exit() must never cut a large JSON output short.
function writeOut(text) {
  const data = Buffer.from(text, "utf8");
  let off = 0;
  while (off < data.length) {
    try {
      off += writeSync(1, data, off, data.length - off);
    } catch (e) {
      if (e.code !== "EAGAIN") throw e;
    }
  }
}

function fail(message) {
  process.stderr.write(`Error: ${message}\n`);
  process.exit(1);
}

const args = process.argv.slice(2);
if (args.includes("--version")) {
  // Native solc prints this two-line banner; py-solc-x parses "Version: X.Y.Z+commit.H".
  writeOut(`solc, the solidity compiler commandline interface\nVersion: ${solc.version()}\n`);
  process.exit(0);
}
if (args.includes("--help") || args.length === 0) {
  writeOut(
    "Skillchain offline solc (wasm). Usage: solc --standard-json [--base-path P] " +
      "[--include-path P]... [--allow-paths A,B] < input.json\n" +
      "       solc [remappings] FILE.sol --combined-json OPTS [--optimize] [--via-ir]\n" +
      "       solc --version\n",
  );
  process.exit(0);
}

let basePath = process.cwd();
const includePaths = [];
const remappings = [];
const files = [];
let combined = null; // --combined-json mode (used by Slither / crytic-compile)
const settings = { optimizer: { enabled: false, runs: 200 } };
for (let i = 0; i < args.length; i++) {
  const a = args[i];
  if (a === "--standard-json" || a === "-") continue;
  if (a === "--base-path") basePath = args[++i];
  else if (a === "--include-path") includePaths.push(args[++i]);
  else if (a === "--allow-paths") i++;
  else if (a.startsWith("--base-path=")) basePath = a.slice(12);
  else if (a.startsWith("--include-path=")) includePaths.push(a.slice(15));
  else if (a.startsWith("--allow-paths=")) continue;
  else if (a === "--combined-json") combined = args[++i].split(",");
  else if (a === "--optimize") settings.optimizer.enabled = true;
  else if (a === "--optimize-runs") settings.optimizer.runs = Number(args[++i]);
  else if (a === "--via-ir") settings.viaIR = true;
  else if (a === "--evm-version") settings.evmVersion = args[++i];
  else if (!a.startsWith("-") && a.includes("=")) remappings.push(a);
  else if (!a.startsWith("-") && a.endsWith(".sol")) files.push(a);
  else fail(`unsupported argument ${a} (this wrapper supports --standard-json and --combined-json)`);
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

let input;
if (combined) {
  // Native `solc [remappings] file.sol --combined-json ...`: build the standard-JSON equivalent.
  const sources = {};
  for (const f of files) sources[f] = { content: readFileSync(f, "utf8") };
  input = {
    language: "Solidity",
    sources,
    settings: {
      ...settings,
      remappings,
      outputSelection: {
        "*": {
          "": ["ast"],
          "*": ["abi", "evm.bytecode", "evm.deployedBytecode", "evm.methodIdentifiers", "userdoc", "devdoc"],
        },
      },
    },
  };
} else {
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
  input = JSON.parse(Buffer.concat(chunks).toString("utf8"));
}

// Sources given by URL (file paths) are read here, as native solc would.
for (const [name, src] of Object.entries(input.sources ?? {})) {
  if (src.content === undefined && Array.isArray(src.urls)) {
    const found = src.urls.map((u) => findImport(u)).find((r) => r.contents !== undefined);
    if (!found) fail(`cannot read source ${name} from ${src.urls.join(", ")}`);
    input.sources[name] = { content: found.contents };
  }
}

const output = solc.compile(JSON.stringify(input), { import: findImport });
if (!combined) {
  writeOut(output + "\n");
  process.exit(0);
}

// --combined-json: native solc's output shape; errors go to stderr with a non-zero exit code.
const result = JSON.parse(output);
const errors = (result.errors ?? []).filter((e) => e.severity === "error");
for (const e of result.errors ?? []) process.stderr.write(e.formattedMessage ?? e.message);
if (errors.length) process.exit(1);
const contracts = {};
for (const [file, byName] of Object.entries(result.contracts ?? {})) {
  for (const [name, c] of Object.entries(byName)) {
    const out = {};
    if (combined.includes("abi")) out.abi = c.abi;
    if (combined.includes("bin")) out.bin = c.evm?.bytecode?.object ?? "";
    if (combined.includes("bin-runtime")) out["bin-runtime"] = c.evm?.deployedBytecode?.object ?? "";
    if (combined.includes("srcmap")) out.srcmap = c.evm?.bytecode?.sourceMap ?? "";
    if (combined.includes("srcmap-runtime")) out["srcmap-runtime"] = c.evm?.deployedBytecode?.sourceMap ?? "";
    if (combined.includes("userdoc")) out.userdoc = c.userdoc;
    if (combined.includes("devdoc")) out.devdoc = c.devdoc;
    if (combined.includes("hashes")) out.hashes = c.evm?.methodIdentifiers ?? {};
    contracts[`${file}:${name}`] = out;
  }
}
const sourceEntries = Object.entries(result.sources ?? {}).sort((a, b) => a[1].id - b[1].id);
const sources = {};
for (const [file, s] of sourceEntries) sources[file] = { AST: s.ast, id: s.id };
writeOut(
  JSON.stringify({
    contracts,
    sourceList: sourceEntries.map(([file]) => file),
    sources,
    version: solc.version(),
  }) + "\n",
);
