// Parse and validate request bodies into prepared entries; every error names the field.
// A port of tracesink/ingest/validate.py (and ingest/model.py's IncomingEntry): the same checks,
// the same messages (msgspec's wording for type errors), the same stored JSON, key for key.
// The levels, sizes, fields and messages are src/tracesink/rules.json's (through rules.js).

import { OFFSET_FIELD, SENT_FIELD, clockOffset } from "./clock.js";
import { ValidationError } from "./errors.js";
import { rawElements, rawMembers } from "./json_raw.js";
import { message as errorText } from "./messages.js";
import { checkDepth, maxDepth } from "./nesting.js";
import { RULES } from "./rules.js";
import {
  MAX_INTEGER_CHARS,
  checkNumbers,
  integerOutOfRange,
  numberOutOfRange,
  wellFormed,
} from "./servable.js";
import { timestampMs } from "./timestamp.js";
import { MANUAL } from "./settings.js";
import { systemLabel } from "./sender.js";
import { TRACE_ID, TRACE_ID_RULE } from "./trace_context.js";

const {
  levels: LOG_LEVELS,
  level_aliases: LEVEL_ALIASES,
  numeric_levels: NUMERIC_LEVELS,
  max_user_id_chars: MAX_USER_ID_CHARS,
} = RULES.entry;
// A release names its source maps' keys (store/keys.py): no braces, no spaces.
const RELEASE = new RegExp(`^(?:${RULES.entry.release})$`);
const RELEASE_RULE = RULES.messages.release;
// What Python's bytes.strip() removes (String.prototype.trim removes more: no-break spaces…).
const ASCII_SPACE = /^[ \t\n\r\v\f]+|[ \t\n\r\v\f]+$/g;
const strip = (text) => text.replace(ASCII_SPACE, "");
const utf8 = new TextEncoder();
const strictUtf8 = new TextDecoder("utf-8", { fatal: true });

// The field types of an entry, as msgspec names them in its errors; context is kept as the raw
// JSON it was sent as and checked by checkContext.
const FIELDS = Object.fromEntries(
  Object.entries(RULES.entry.fields).filter(([name]) => name !== "about" && name !== "context"),
);
// The fields handled by name below; any other field of the rules file is stored as sent.
const HANDLED = new Set(["message", "trace_id", "level", "system", "user_id", "stack", "release", "timestamp"]);
const AS_SENT = Object.keys(FIELDS).filter((name) => !HANDLED.has(name));

function jsonType(value) {
  if (value === null) return "null";
  if (typeof value === "boolean") return "bool";
  if (typeof value === "string") return "str";
  if (Array.isArray(value)) return "array";
  return "object";
}

function typeError(name, accepted, got) {
  return new ValidationError(
    `Expected \`${accepted.join(" | ")}\`, got \`${got}\` - at \`$.${name}\``,
    name,
  );
}

// How msgspec reads a number where none is expected: an integer it holds as one (64 bits, signed
// or not), else a float; JSON.parse's value cannot tell (20.0 is 20), the text can.
const INT64_MIN = -(2n ** 63n);
const UINT64_MAX = 2n ** 64n - 1n;
function numberKind(raw) {
  if (/[.eE]/.test(raw)) return "float";
  const n = BigInt(raw);
  return n >= INT64_MIN && n <= UINT64_MAX ? "int" : "float";
}

// A known field's number as msgspec decodes it into IncomingEntry, or its refusal in msgspec's
// words: a float field takes any finite number; an int field any integer of at most 4300
// characters (kept as written: a user_id never becomes the nearest double); a number beyond a
// float's range is out of range wherever it is.
function numberField(name, accepted, raw, value) {
  const integer = !/[.eE]/.test(raw);
  if (accepted.includes("float")) {
    if (!Number.isFinite(value)) throw numberOutOfRange(name);
    return value;
  }
  if (accepted.includes("int") && integer) {
    if (raw.length > MAX_INTEGER_CHARS) throw integerOutOfRange(name);
    return name === "user_id" ? BigInt(raw).toString() : value;
  }
  const kind = numberKind(raw);
  if (kind === "float" && !Number.isFinite(value)) throw numberOutOfRange(name);
  throw typeError(name, accepted, kind);
}

// A body's text: strict UTF-8 (a leading byte order mark dropped, as TextDecoder does), its lone
// surrogate escapes replaced (servable.js).
export function decodeText(bytes, what = "body") {
  let text;
  try {
    text = strictUtf8.decode(bytes);
  } catch {
    throw new ValidationError(errorText("body_utf8"), "body");
  }
  return wellFormed(text);
}

// A body of one entry (POST /log): deep nesting refused, then decodeEntry (decode_entry).
export function decodeBody(text) {
  checkDepth(text, "the entry");
  return decodeEntry(text);
}

// One entry's JSON text → {fields…, context: raw text or undefined}; 400s as decode_item raises.
export function decodeEntry(text) {
  let value;
  try {
    value = JSON.parse(text);
  } catch (error) {
    const detail = text.trim() ? error.message : "Input data was truncated";
    throw new ValidationError(errorText("body_json", { detail }), "body");
  }
  const type = typeof value === "number" ? numberKind(text.trim()) : jsonType(value);
  if (type !== "object") {
    const detail = `Expected \`object\`, got \`${type}\``;
    throw new ValidationError(errorText("not_an_object", { detail }));
  }
  const entry = {};
  // Member by member as written, a repeated one each time: msgspec names the first wrong
  // occurrence it meets and keeps the last.
  const all = rawMembers(text);
  const members = all.filter(([name]) => Object.hasOwn(FIELDS, name));
  const repeated = new Set(members.map(([name]) => name)).size < members.length;
  for (const [name, raw] of members) {
    const accepted = FIELDS[name];
    const member = repeated ? JSON.parse(raw) : value[name];
    if (typeof member === "number") {
      entry[name] = numberField(name, accepted, raw, member);
    } else if (accepted.includes(jsonType(member))) {
      entry[name] = member;
    } else {
      throw typeError(name, accepted, jsonType(member));
    }
  }
  for (const name of RULES.entry.required) {
    if (entry[name] === undefined) {
      throw new ValidationError(`Object missing required field \`${name}\``, name);
    }
  }
  for (const [name, raw] of all) if (name === "context") entry.context = raw; // the last, as kept
  return entry;
}

function checkCount(count, maxItems) {
  if (count > maxItems) {
    throw new ValidationError(
      errorText("batch_items", { count, max: maxItems }),
      "body",
      413,
    );
  }
}

// A batch body's entries (a JSON array or NDJSON), each decoded or the error naming what is wrong.
export function decodeBatch(bytes, maxItems) {
  const text = decodeText(bytes);
  const stripped = strip(text);
  if (!stripped) throw new ValidationError(errorText("batch_empty"), "body");
  let items;
  const array = stripped.startsWith("[");
  if (array) {
    checkDepth(stripped, "the batch");
    try {
      JSON.parse(stripped);
    } catch {
      throw new ValidationError(errorText("batch_array"), "body");
    }
    items = rawElements(stripped);
  } else {
    items = stripped.split("\n").filter((line) => strip(line));
  }
  if (!items.length) throw new ValidationError(errorText("batch_empty"), "body");
  checkCount(items.length, maxItems);
  return items.map((item) => {
    try {
      return array ? decodeEntry(item) : decodeBody(item);
    } catch (error) {
      if (!(error instanceof ValidationError)) throw error;
      return error;
    }
  });
}

function truncate(text, limit) {
  if (text.length * 3 <= limit) return [text, false]; // even all-3-byte UTF-16 units would fit
  const data = utf8.encode(text);
  if (data.length <= limit) return [text, false];
  let cut = limit;
  while (cut > 0 && (data[cut] & 0xc0) === 0x80) cut -= 1; // drop a character cut in half
  const kept = new TextDecoder().decode(data.subarray(0, cut));
  return [`${kept}… [truncated ${data.length - cut} bytes]`, true];
}

function checkContext(raw, rules) {
  if (!raw.startsWith("{")) throw new ValidationError(errorText("context_object"), "context");
  if (utf8.encode(raw).length > rules.maxContextBytes) {
    throw new ValidationError(errorText("context_bytes", { max: rules.maxContextBytes }), "context");
  }
  const limit = rules.maxContextDepth;
  const brackets = (raw.match(/[{[]/g) ?? []).length;
  if (brackets > limit && maxDepth(raw) > limit) {
    throw new ValidationError(errorText("context_depth", { max: limit }), "context");
  }
  checkNumbers(raw, "context");
}

// What Python's repr() writes for a string, so that a message quoting what was sent is the same.
const NOT_PRINTABLE = /[\p{Cc}\p{Cf}\p{Cs}\p{Co}\p{Cn}\p{Zl}\p{Zp}\p{Zs}]/u;
const SHORT_ESCAPES = { "\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r" };
function pythonRepr(text) {
  const quote = text.includes("'") && !text.includes('"') ? '"' : "'";
  let out = quote;
  for (const char of text) {
    const code = char.codePointAt(0);
    if (char === quote) out += `\\${char}`;
    else if (SHORT_ESCAPES[char] !== undefined) out += SHORT_ESCAPES[char];
    else if (char === " " || !NOT_PRINTABLE.test(char)) out += char;
    else if (code <= 0xff) out += `\\x${code.toString(16).padStart(2, "0")}`;
    else if (code <= 0xffff) out += `\\u${code.toString(16).padStart(4, "0")}`;
    else out += `\\U${code.toString(16).padStart(8, "0")}`;
  }
  return out + quote;
}

export function logLevel(given) {
  if (typeof given === "number") {
    if (given < 0) throw new ValidationError(errorText("level_negative"), "level");
    return NUMERIC_LEVELS.find(([threshold]) => given >= threshold)[1];
  }
  const lower = given.toLowerCase();
  const level = LEVEL_ALIASES[lower] ?? lower;
  if (!LOG_LEVELS.includes(level)) {
    const [levels, aliases] = [LOG_LEVELS.join(", "), Object.keys(LEVEL_ALIASES).join(", ")];
    const quoted = pythonRepr(given);
    throw new ValidationError(errorText("level", { levels, aliases, given: quoted }), "level");
  }
  return level;
}

export function isoMs(ms) {
  return new Date(ms).toISOString();
}

// 12 hex digits of milliseconds, 8 of a per-isolate random prefix, 8 of a per-isolate counter:
// the format of tracesink/ids.py, so ids from both ingesters sort together by time.
// (Random values may not be drawn at global scope in a Worker: drawn at the first entry.)
let isolateId = null;
let counter = 0;
export function newId(nowMs) {
  isolateId ??= crypto.getRandomValues(new Uint32Array(1))[0].toString(16).padStart(8, "0");
  counter = (counter + 1) >>> 0;
  return nowMs.toString(16).padStart(12, "0") + isolateId + counter.toString(16).padStart(8, "0");
}

// Validate one decoded entry and build the JSON stored for it (validate.prepare_entry).
export function prepareEntry(incoming, rules, sender, nowMs) {
  let traceId;
  let traceFrom = null;
  if (incoming.trace_id === undefined || incoming.trace_id === null) {
    const header = sender.traceId();
    traceId = header.traceId;
    traceFrom = header.source;
  } else if (TRACE_ID.test(incoming.trace_id)) {
    traceId = incoming.trace_id;
  } else {
    throw new ValidationError(TRACE_ID_RULE, "trace_id");
  }
  const level = logLevel(incoming.level ?? "log");
  const system = incoming.system ?? null;
  let label;
  let rule;
  if (sender.pinned !== null) {
    if (system !== null && systemLabel(system, "system") !== sender.pinned) {
      throw new ValidationError(
        errorText("system_pinned", { pinned: sender.pinned, given: system }),
        "system",
      );
    }
    [label, rule] = [sender.pinned, "ingest_key"];
  } else if (system === null) {
    [label, rule] = [sender.system, sender.systemRule];
  } else {
    [label, rule] = [systemLabel(system, "system"), "body"];
  }
  const counted = rules.systems.has(label) ? label : MANUAL;

  let [message, truncated] = truncate(incoming.message, rules.maxMessageBytes);
  // Members in the order Python writes them; context goes in as the raw JSON it was sent as.
  const members = [["id", newId(nowMs)], ["trace_id", traceId]];
  if (incoming.user_id !== undefined && incoming.user_id !== null) {
    const userId = String(incoming.user_id);
    if ([...userId].length > MAX_USER_ID_CHARS) { // characters, as Python counts them
      throw new ValidationError(errorText("user_id", { max: MAX_USER_ID_CHARS }), "user_id");
    }
    members.push(["user_id", userId]);
  }
  members.push(["system", label], ["level", level], ["message", message]);
  if (incoming.stack !== undefined && incoming.stack !== null) {
    const [stack, stackTruncated] = truncate(incoming.stack, rules.maxMessageBytes);
    members.push(["stack", stack]);
    truncated ||= stackTruncated;
  }
  if (incoming.release !== undefined && incoming.release !== null) {
    if (!RELEASE.test(incoming.release)) throw new ValidationError(RELEASE_RULE, "release");
    members.push(["release", incoming.release]);
  }
  const given = incoming.timestamp;
  const own = given !== undefined && given !== null;
  const sentMs = own ? timestampMs(given) : nowMs;
  const offset = own ? clockOffset(sender.clockMs, sentMs, nowMs) : null;
  members.push(["timestamp", isoMs(offset === null ? sentMs : sentMs + offset)]);
  members.push(["received_at", isoMs(nowMs)]);
  // The sender's clock was off (clock.js): keep what it said, and by how much.
  if (offset !== null) members.push([SENT_FIELD, isoMs(sentMs)], [OFFSET_FIELD, offset]);
  for (const name of AS_SENT) {
    if (incoming[name] !== undefined && incoming[name] !== null) members.push([name, incoming[name]]);
  }
  let context = null;
  if (incoming.context !== undefined && incoming.context !== "null") {
    checkContext(incoming.context, rules);
    context = incoming.context;
  }
  const parts = members.map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v)}`);
  if (context !== null) parts.push(`"context":${context}`);
  const tail = [];
  if (truncated) tail.push(["truncated", true]);
  tail.push(["detected_by", rule]);
  if (counted !== label) tail.push(["counted_as", counted]);
  if (traceFrom !== null) tail.push(["trace_id_from", traceFrom]);
  for (const [k, v] of tail) parts.push(`${JSON.stringify(k)}:${JSON.stringify(v)}`);
  return {
    id: members[0][1],
    traceId,
    system: counted,
    payload: `{${parts.join(",")}}`,
    unknownSystem: counted === label ? null : label,
  };
}
