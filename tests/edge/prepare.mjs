// Prepares request bodies with the edge Worker's own code (entries.js), for
// tests/edge/test_same_bytes.py: reads [{body (base64), batch}] on stdin, writes for each the
// stored payloads (or the errors, per item and whole) as JSON on stdout.
import { readFileSync } from "node:fs";
import { decodeBatch, decodeBody, decodeText, prepareEntry } from "../../edge/src/entries.js";
import { ValidationError } from "../../edge/src/errors.js";
import { Sender } from "../../edge/src/sender.js";

const NOW = 1795946400000;
const rules = {
  maxMessageBytes: 64,
  maxContextBytes: 2000,
  maxContextDepth: 3,
  systems: new Set(["browser", "worker", "convex", "manual"]),
};
const error = (e) => {
  if (!(e instanceof ValidationError)) throw e;
  return { error: e.message, field: e.field, status: e.status };
};
const prepare = (incoming) => {
  try {
    return prepareEntry(incoming, rules, new Sender(new Headers()), NOW).payload;
  } catch (e) {
    return error(e);
  }
};
const answers = JSON.parse(readFileSync(0, "utf8")).map(({ body, batch }) => {
  const bytes = Buffer.from(body, "base64");
  try {
    if (!batch) return prepare(decodeBody(decodeText(bytes)));
    return decodeBatch(bytes, 1000).map((item) => (item instanceof ValidationError ? error(item) : prepare(item)));
  } catch (e) {
    return error(e);
  }
});
process.stdout.write(JSON.stringify(answers));
