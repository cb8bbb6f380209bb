#!/usr/bin/env node
// Test oracle: the CID the JS UnixFS importer (used by IPFS implementations) gives a file with Kubo's
// `ipfs add` defaults. Usage: node tools/unixfs-oracle.mjs FILE CID_VERSION
import { createReadStream } from "node:fs";
import { importer } from "ipfs-unixfs-importer";
import { fixedSize } from "ipfs-unixfs-importer/chunker";
import { balanced } from "ipfs-unixfs-importer/layout";

const [file, version] = process.argv.slice(2);
const cidVersion = Number(version ?? 0);
const blockstore = { put: async (cid) => cid };
const options = {
  cidVersion,
  rawLeaves: cidVersion === 1, // Kubo: --cid-version 1 implies --raw-leaves
  leafType: "file",
  chunker: fixedSize({ chunkSize: 262144 }),
  layout: balanced({ maxChildrenPerNode: 174 }),
  reduceSingleLeafToSelf: true,
};
let last;
for await (const entry of importer([{ content: createReadStream(file) }], blockstore, options)) last = entry;
process.stdout.write(`${last.cid.toString()}\n`);
