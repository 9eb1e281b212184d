// Parse and validate request bodies into prepared entries; every error names the field.
// A port of tracesink/ingest/validate.py (and ingest/model.py's IncomingEntry): the same checks,
// the same messages (msgspec's wording for type errors), the same stored JSON, key for key.

import { clockOffset } from "./clock.js";
import { ValidationError } from "./errors.js";
import { rawElements, rawMember } from "./json_raw.js";
import { MANUAL } from "./settings.js";
import { systemLabel } from "./sender.js";
import { TRACE_ID, TRACE_ID_RULE } from "./trace_context.js";


const LOG_LEVELS = ["log", "info", "warn", "error"];
const LEVEL_ALIASES = {
  debug: "log",
  trace: "log",
  notset: "log",
  warning: "warn",
  critical: "error",
  fatal: "error",
};
const NUMERIC_LEVELS = [[40, "error"], [30, "warn"], [20, "info"], [0, "log"]];
const MAX_USER_ID_CHARS = 256;
const MAX_TIMESTAMP_MS = 253402300800000; // year 10000: what ISO 8601 strings can show
const utf8 = new TextEncoder();
const strictUtf8 = new TextDecoder("utf-8", { fatal: true });

// The field types of IncomingEntry, as msgspec names them in its errors.
const FIELDS = {
  message: ["str"],
  trace_id: ["str", "null"],
  level: ["int", "str"],
  system: ["str", "null"],
  user_id: ["int", "str", "null"],
  stack: ["str", "null"],
  timestamp: ["float", "str", "null"],
};

function jsonType(value, raw) {
  if (value === null) return "null";
  if (typeof value === "boolean") return "bool";
  if (typeof value === "string") return "str";
  if (Array.isArray(value)) return "array";
  if (typeof value === "object") return "object";
  // JSON.parse reads 20.0 as 20: the text says whether it was sent as a float.
  return Number.isInteger(value) && !/[.eE]/.test(raw ?? "") ? "int" : "float";
}

export function decodeText(bytes, what = "body") {
  try {
    return strictUtf8.decode(bytes);
  } catch {
    throw new ValidationError(`${what} is not valid UTF-8`, "body");
  }
}

// One entry's JSON text → {fields…, context: raw text or undefined}; 400s as decode_entry raises.
export function decodeEntry(text) {
  let value;
  try {
    value = JSON.parse(text);
  } catch (error) {
    const detail = text.trim() ? error.message : "Input data was truncated";
    throw new ValidationError(`body is not valid JSON: ${detail}`, "body");
  }
  const type = jsonType(value, text.trim());
  if (type !== "object") {
    throw new ValidationError(`an entry must be a JSON object; Expected \`object\`, got \`${type}\``);
  }
  const entry = {};
  for (const [name, accepted] of Object.entries(FIELDS)) {
    if (!Object.hasOwn(value, name)) continue;
    const numeric = typeof value[name] === "number";
    const got = jsonType(value[name], numeric ? rawMember(text, name) : undefined);
    // msgspec takes an int where a float is expected.
    if (!accepted.includes(got) && !(got === "int" && accepted.includes("float"))) {
      throw new ValidationError(
        `Expected \`${accepted.join(" | ")}\`, got \`${got}\` - at \`$.${name}\``,
        name,
      );
    }
    entry[name] = value[name];
  }
  if (entry.message === undefined) {
    throw new ValidationError("Object missing required field `message`", "message");
  }
  if (Object.hasOwn(value, "context")) entry.context = rawMember(text, "context");
  return entry;
}

function checkCount(count, maxItems) {
  if (count > maxItems) {
    throw new ValidationError(
      `the batch holds ${count} entries; at most ${maxItems} (TRACESINK_MAX_BATCH_ITEMS)`,
      "body",
      413,
    );
  }
}

// A batch body's entries (a JSON array or NDJSON), each decoded or the error naming what is wrong.
export function decodeBatch(bytes, maxItems) {
  const text = decodeText(bytes);
  const stripped = text.trim();
  if (!stripped) throw new ValidationError("the batch holds no entries", "body");
  let items;
  if (stripped.startsWith("[")) {
    try {
      JSON.parse(stripped);
    } catch {
      throw new ValidationError("body is not a valid JSON array", "body");
    }
    items = rawElements(stripped);
  } else {
    items = stripped.split("\n").filter((line) => line.trim());
  }
  if (!items.length) throw new ValidationError("the batch holds no entries", "body");
  checkCount(items.length, maxItems);
  return items.map((item) => {
    try {
      return decodeEntry(item);
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

function depth(value, limit, level = 1) {
  if (level > limit) return level;
  const children = Array.isArray(value) ? value : Object.values(value);
  let deepest = level;
  for (const child of children) {
    if (child !== null && typeof child === "object") {
      deepest = Math.max(deepest, depth(child, limit, level + 1));
    }
  }
  return deepest;
}

function checkContext(raw, rules) {
  if (!raw.startsWith("{")) throw new ValidationError("context must be a JSON object", "context");
  if (utf8.encode(raw).length > rules.maxContextBytes) {
    throw new ValidationError(
      `context is larger than ${rules.maxContextBytes} bytes as JSON`,
      "context",
    );
  }
  const limit = rules.maxContextDepth;
  const brackets = (raw.match(/[{[]/g) ?? []).length;
  if (brackets > limit && depth(JSON.parse(raw), limit) > limit) {
    throw new ValidationError(`context is nested deeper than ${limit} levels`, "context");
  }
}

// Python's datetime.fromisoformat, for the forms clients send: a date, a time to the
// microsecond, an offset or Z; without an offset, UTC.
const ISO = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2})(?::?(\d{2})(?::?(\d{2})(?:[.,](\d{1,6}))?)?)?(Z|[+-]\d{2}(?::?\d{2})?)?)?$/;

function timestampMs(value) {
  let ms;
  if (typeof value === "string") {
    const m = ISO.exec(value);
    const bad = () =>
      new ValidationError(
        "timestamp must be milliseconds since the epoch or an ISO 8601 string",
        "timestamp",
      );
    if (m === null) throw bad();
    const [, y, mo, d, h = "0", mi = "0", s = "0", frac = "", zone] = m;
    const parts = [+y, +mo, +d, +h, +mi, +s];
    if (parts[1] < 1 || parts[1] > 12 || parts[2] < 1 || parts[3] > 23 || parts[4] > 59 || parts[5] > 59) {
      throw bad();
    }
    const daysInMonth = new Date(Date.UTC(2000, parts[1], 0)).getUTCDate();
    const leap = parts[0] % 4 === 0 && (parts[0] % 100 !== 0 || parts[0] % 400 === 0);
    if (parts[2] > (parts[1] === 2 ? (leap ? 29 : 28) : daysInMonth)) throw bad();
    const date = new Date(0);
    date.setUTCFullYear(parts[0], parts[1] - 1, parts[2]);
    date.setUTCHours(parts[3], parts[4], parts[5], 0);
    let offsetMin = 0;
    if (zone && zone !== "Z") {
      const digits = zone.slice(1).replace(":", "");
      offsetMin = (zone[0] === "-" ? -1 : 1) * (+digits.slice(0, 2) * 60 + +(digits.slice(2) || 0));
    }
    const micros = Number((frac + "000000").slice(0, 6));
    ms = Math.round(date.getTime() - offsetMin * 60000 + micros / 1000);
  } else {
    if (!Number.isFinite(value) || value < 0) {
      throw new ValidationError("timestamp must be a positive number", "timestamp");
    }
    // Below 1e11 a number is seconds (Python's time.time()), above it milliseconds (Date.now()).
    ms = value < 1e11 ? Math.round(value * 1000) : Math.round(value);
  }
  if (!(ms >= 0 && ms < MAX_TIMESTAMP_MS)) {
    throw new ValidationError("timestamp is out of range", "timestamp");
  }
  return ms;
}

export function logLevel(given) {
  if (typeof given === "number") {
    if (given < 0) throw new ValidationError("level must not be a negative number", "level");
    return NUMERIC_LEVELS.find(([threshold]) => given >= threshold)[1];
  }
  const lower = given.toLowerCase();
  const level = LEVEL_ALIASES[lower] ?? lower;
  if (!LOG_LEVELS.includes(level)) {
    throw new ValidationError(
      `level must be one of ${LOG_LEVELS.join(", ")}, an alias ` +
        `(${Object.keys(LEVEL_ALIASES).join(", ")}) or a logging number, got '${given}'`,
      "level",
    );
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
        `this ingest key logs as system ${sender.pinned} only, not ${system}`,
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
    if (userId.length > MAX_USER_ID_CHARS) {
      throw new ValidationError(
        `user_id must be at most ${MAX_USER_ID_CHARS} characters`,
        "user_id",
      );
    }
    members.push(["user_id", userId]);
  }
  members.push(["system", label], ["level", level], ["message", message]);
  if (incoming.stack !== undefined && incoming.stack !== null) {
    const [stack, stackTruncated] = truncate(incoming.stack, rules.maxMessageBytes);
    members.push(["stack", stack]);
    truncated ||= stackTruncated;
  }
  const given = incoming.timestamp;
  const own = given !== undefined && given !== null;
  const sentMs = own ? timestampMs(given) : nowMs;
  const offset = own ? clockOffset(sender.clockMs, sentMs, nowMs) : null;
  members.push(["timestamp", isoMs(offset === null ? sentMs : sentMs + offset)]);
  members.push(["received_at", isoMs(nowMs)]);
  // The sender's clock was off (clock.js): keep what it said, and by how much.
  if (offset !== null) members.push(["sent_timestamp", isoMs(sentMs)], ["clock_offset_ms", offset]);
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
