// What a request's headers say about the entries in its body: the detected system and, for
// entries that name none, their trace (ports of tracesink/ingest/detect.py and sender.py).
// Detection labels a source; it never authenticates one (any client can set a header).

import { ValidationError } from "./errors.js";
import { message } from "./messages.js";
import { RULES } from "./rules.js";
import { MANUAL, SYSTEM_NAME, SYSTEM_NAME_RULE } from "./settings.js";
import { traceIdFromHeaders } from "./trace_context.js";

const MISSING_TRACE_ID = RULES.messages.trace_id_missing;

// What Python's str.strip() removes (trim() differs: it takes U+FEFF, leaves U+001C–U+001F, U+0085).
const PYTHON_SPACE =
  /^[\t-\r\x1c-\x20\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+|[\t-\r\x1c-\x20\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+$/g;

export function systemLabel(raw, field) {
  const label = raw.replace(PYTHON_SPACE, "").toLowerCase();
  if (!SYSTEM_NAME.test(label)) {
    throw new ValidationError(message("system_label", { field, rule: SYSTEM_NAME_RULE }), field);
  }
  return label;
}

// body `system` › X-Log-System › CF-Worker › Sec-Fetch-* › Origin › a browser User-Agent › manual
export function detectFromHeaders(headers) {
  const explicit = headers.get("x-log-system");
  if (explicit !== null) return [systemLabel(explicit, "X-Log-System"), "x-log-system"];
  if (headers.has("cf-worker")) return ["worker", "cf-worker"];
  if (headers.has("sec-fetch-mode") || headers.has("sec-fetch-site")) return ["browser", "sec-fetch"];
  if (headers.has("origin")) return ["browser", "origin"];
  if ((headers.get("user-agent") ?? "").startsWith("Mozilla/")) return ["browser", "user-agent"];
  return [MANUAL, "default"];
}

export class Sender {
  // clockMs: the sender's clock when it sent the request (clock.js), or null.
  constructor(headers, pinned = null, clockMs = null) {
    this.headers = headers;
    this.clockMs = clockMs;
    [this.system, this.systemRule] = detectFromHeaders(headers);
    this.pinned = pinned;
    this.trace = undefined;
  }

  // The headers' trace id, read on first need; a ValidationError when there is none.
  traceId() {
    if (this.trace === undefined) this.trace = traceIdFromHeaders(this.headers);
    if (this.trace === null) throw new ValidationError(MISSING_TRACE_ID, "trace_id");
    return this.trace;
  }
}
