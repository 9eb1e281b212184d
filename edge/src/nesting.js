// Deep nesting is refused before a body is parsed, wherever it is: tracesink/ingest/nesting.py,
// the same line (DEPTH_REPORTED levels) and the same message naming the place. JSON.parse has no
// depth guard of its own, and an unknown field nested 5,000 deep is no log entry.

import { ValidationError } from "./errors.js";
import { message } from "./messages.js";
import { RULES } from "./rules.js";

export const DEPTH_REPORTED = RULES.entry.max_nesting; // src/tracesink/rules.json's
// A JSON string (one left open runs to the end of the text) or one structural character.
const TOKEN = /"[^"\\]*(?:\\[\s\S][^"\\]*)*(?:"|\\?$)|[[\]{},:]/g;

// The deepest nesting of the JSON `text`, brackets counted outside strings (nesting.max_depth):
// of the text as sent, so a duplicate key's overwritten value counts too, as it is stored.
export function maxDepth(text) {
  let depth = 0;
  let deepest = 0;
  for (let i = 0; i < text.length; i += 1) {
    const c = text.charCodeAt(i);
    if (c === 0x22) {
      // A string: on to its closing quote (an escape skips the character after the backslash).
      for (i += 1; i < text.length; i += 1) {
        const d = text.charCodeAt(i);
        if (d === 0x5c) i += 1;
        else if (d === 0x22) break;
      }
    } else if (c === 0x5b || c === 0x7b) {
      depth += 1;
      if (depth > deepest) deepest = depth;
    } else if (c === 0x5d || c === 0x7d) {
      depth -= 1;
    }
  }
  return deepest;
}

// Python's `path[at:] = [x]` and `del path[at:]`, negative `at` included (a malformed body may
// close more than it opened), so that the place named is the same.
function fromIndex(path, at) {
  return at < 0 ? Math.max(0, path.length + at) : Math.min(at, path.length);
}

// The path of the first value deeper than DEPTH_REPORTED, cut to its first two steps (deep_place).
function deepPlace(text) {
  const path = [];
  let depth = 0;
  let lastString = "";
  for (const [token] of text.matchAll(TOKEN)) {
    const first = token[0];
    if (first === '"') {
      lastString = token.slice(1, -1);
    } else if (first === "[" || first === "{") {
      depth += 1;
      if (depth > DEPTH_REPORTED) return path.slice(0, 2);
      if (depth <= 2) path.splice(fromIndex(path, depth - 1), path.length, first === "[" ? 0 : "");
    } else if (first === "]" || first === "}") {
      depth -= 1;
      path.length = fromIndex(path, depth);
    } else if (first === ":" && depth > 0 && depth <= 2) {
      path[depth - 1] = lastString;
    } else if (first === "," && depth > 0 && depth <= 2 && typeof path[depth - 1] === "number") {
      path[depth - 1] += 1;
    }
  }
  return [];
}

function describe(path, top) {
  let steps = path.map((step) => (typeof step === "number" ? `item ${step}` : `field \`${step}\``));
  if (path.length > 1 && typeof path[0] === "number" && typeof path[1] === "number") {
    steps = steps.slice(0, 1);
  }
  return steps.join(", ") || top;
}

// 400 when any value of `text` (an entry, a JSON array batch) nests deeper than DEPTH_REPORTED.
export function checkDepth(text, top) {
  let brackets = 0;
  for (let i = 0; i < text.length; i += 1) {
    const c = text.charCodeAt(i);
    if (c === 0x5b || c === 0x7b) brackets += 1;
  }
  if (brackets <= DEPTH_REPORTED || maxDepth(text) <= DEPTH_REPORTED) return;
  let path = deepPlace(text);
  if (path.length && typeof path[0] === "string") path = path.slice(0, 1);
  const field = path.find((step) => typeof step === "string") || "body";
  throw new ValidationError(
    message("too_deep", { place: describe(path, top), max: DEPTH_REPORTED }),
    field,
  );
}
