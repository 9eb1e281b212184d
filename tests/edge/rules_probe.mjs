// What the edge Worker's own modules make of the rules, for tests/edge/test_rules_agree.py:
// `node rules_probe.mjs [EDGE_SRC]` reads cases as JSON on stdin and prints, as JSON, the
// settings the Worker derives from its environment, the refusal of each bad variable, and the
// stored entry (or the refusal) of each request body. EDGE_SRC (default: this repository's
// edge/src) lets a test run a copy whose rules file it changed. Only node is needed: these
// modules are plain ES modules (store.js, which imports the Lua file, is not loaded).

import { fileURLToPath, pathToFileURL } from "node:url";

const src = process.argv[2] ?? fileURLToPath(new URL("../../edge/src/", import.meta.url));
const load = (name) => import(pathToFileURL(`${src}/${name}`).href);
const { settingsFrom } = await load("settings.js");
const { decodeBatch, decodeEntry, prepareEntry } = await load("entries.js");
const { Sender } = await load("sender.js");

const chunks = [];
for await (const chunk of process.stdin) chunks.push(chunk);
const cases = JSON.parse(Buffer.concat(chunks).toString("utf8"));
const STORE = { UPSTASH_REDIS_REST_URL: "https://store.example", UPSTASH_REDIS_REST_TOKEN: "t" };

// Maps and Sets as JSON objects and sorted lists.
const plain = (value) =>
  JSON.parse(
    JSON.stringify(value, (_, v) =>
      v instanceof Map ? Object.fromEntries(v) : v instanceof Set ? [...v].sort() : v,
    ),
  );
const refusal = (error) => {
  if (error.field === undefined) throw error; // not a refusal: a bug, let it show
  return { error: error.message, field: error.field, status: error.status };
};

const settings = settingsFrom(STORE);
const out = { settings: plain(settings), env: [], entries: [], batches: [] };
for (const env of cases.env) {
  try {
    settingsFrom({ ...STORE, ...env });
    out.env.push(null);
  } catch (error) {
    out.env.push(error.message);
  }
}
for (const { body, headers, pinned } of cases.entries) {
  try {
    const sender = new Sender(new Headers(headers), pinned);
    const entry = prepareEntry(decodeEntry(body), settings.rules, sender, cases.now_ms);
    out.entries.push({ payload: entry.payload, system: entry.system });
  } catch (error) {
    out.entries.push(refusal(error));
  }
}
for (const { body, max_items: maxItems } of cases.batches) {
  try {
    const items = decodeBatch(new TextEncoder().encode(body), maxItems);
    out.batches.push(items.map((item) => (item instanceof Error ? refusal(item) : "entry")));
  } catch (error) {
    out.batches.push(refusal(error));
  }
}
console.log(JSON.stringify(out));
