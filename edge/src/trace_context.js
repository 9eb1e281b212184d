// The trace id a request carries in its headers, for entries that do not name their own
// (a port of tracesink/ingest/trace_context.py): X-Trace-Id, else a W3C traceparent.

import { ValidationError } from "./errors.js";
import { message } from "./messages.js";
import { RULES } from "./rules.js";
import { whole } from "./settings.js";

export const TRACE_ID = whole(RULES.entry.trace_id);
export const TRACE_ID_RULE = RULES.messages.trace_id;
const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$/s;

export function parseTraceparent(value) {
  const found = TRACEPARENT.exec(value.trim());
  if (found === null) {
    throw new ValidationError(message("traceparent_form"), "traceparent");
  }
  const [, version, traceId, parentId, , extra] = found;
  if (version === "ff") throw new ValidationError(message("traceparent_version"), "traceparent");
  if (version === "00" && extra !== undefined) {
    throw new ValidationError(message("traceparent_fields"), "traceparent");
  }
  if (traceId === "0".repeat(32) || parentId === "0".repeat(16)) {
    throw new ValidationError(message("traceparent_zero"), "traceparent");
  }
  return traceId;
}

// {traceId, source} from the headers, or null when neither header is sent.
export function traceIdFromHeaders(headers) {
  let given = headers.get("x-trace-id");
  if (given !== null) {
    given = given.trim();
    if (!TRACE_ID.test(given)) {
      throw new ValidationError(message("x_trace_id", { rule: TRACE_ID_RULE }), "X-Trace-Id");
    }
    return { traceId: given, source: "x-trace-id" };
  }
  const parent = headers.get("traceparent");
  if (parent !== null) return { traceId: parseTraceparent(parent), source: "traceparent" };
  return null;
}
