// POST /log (one entry, the original plan's contract) and POST /logs (a batch), answered as
// tracesink/app/ingest_routes.py answers them. Every entry of a request goes to the store in
// one script call.

import { clientClock } from "./clock.js";
import { decodeBatch, decodeBody, decodeText, prepareEntry } from "./entries.js";
import { ValidationError } from "./errors.js";
import { jsonResponse, rateLimitHeaders, retryAfterS } from "./http.js";
import { remainingQuota } from "./limits.js";
import { message } from "./messages.js";
import { Sender } from "./sender.js";

function limitError(decision, traceId, settings) {
  if (decision.limitedBy === "budget") {
    const [variable, value] = ["TRACESINK_MAX_COMMANDS_PER_DAY", settings.maxCommandsPerDay];
    return message("budget_spent", { variable, value });
  }
  const [level, windowS] = [decision.limitedBy, settings.windowS];
  return message("quota", { level, trace_id: traceId, window_s: windowS });
}

function unknownSystemWarning(entry) {
  return message("unknown_system", { system: entry.unknownSystem });
}

export async function postLog(request, body, pinned, settings, store) {
  const sender = new Sender(request.headers, pinned, clientClock(request));
  const nowMs = Date.now();
  const entry = prepareEntry(decodeBody(decodeText(body)), settings.rules, sender, nowMs);
  const [decision] = await store.write([entry], nowMs);
  const headers = rateLimitHeaders(settings.policy, entry.system, decision, nowMs);
  if (decision.limitedBy !== null) {
    return jsonResponse(
      429,
      {
        success: false,
        trace_id: entry.traceId,
        error: limitError(decision, entry.traceId, settings),
        remaining_quota: 0,
        limited_by: decision.limitedBy,
      },
      headers,
    );
  }
  const content = {
    success: true,
    trace_id: entry.traceId,
    id: entry.id,
    remaining_quota: remainingQuota(decision),
  };
  if (entry.unknownSystem !== null) content.warnings = [unknownSystemWarning(entry)];
  return jsonResponse(200, content, headers);
}

export async function postLogs(request, body, pinned, settings, store) {
  const sender = new Sender(request.headers, pinned, clientClock(request));
  const items = decodeBatch(body, settings.maxBatchItems);
  const nowMs = Date.now();
  const rejected = [];
  const prepared = [];
  items.forEach((item, index) => {
    let error = item;
    if (!(item instanceof ValidationError)) {
      try {
        prepared.push([index, prepareEntry(item, settings.rules, sender, nowMs)]);
        return;
      } catch (caught) {
        if (!(caught instanceof ValidationError)) throw caught;
        error = caught;
      }
    }
    rejected.push({ index, reason: error.message, field: error.field, retryable: false });
  });
  const entries = prepared.map(([, entry]) => entry);
  const decisions = entries.length ? await store.write(entries, nowMs) : [];
  let accepted = 0;
  let longestWait = 0;
  const ids = [];
  const warnings = [];
  prepared.forEach(([index, entry], i) => {
    const decision = decisions[i];
    if (decision.limitedBy === null) {
      accepted += 1;
      ids.push(entry.id);
      if (entry.unknownSystem !== null) warnings.push({ index, warning: unknownSystemWarning(entry) });
      return;
    }
    longestWait = Math.max(longestWait, retryAfterS(decision));
    rejected.push({
      index,
      reason: limitError(decision, entry.traceId, settings),
      retryable: true,
      limited_by: decision.limitedBy,
      retry_after: retryAfterS(decision),
    });
  });
  rejected.sort((a, b) => a.index - b.index);
  let status = 400;
  if (accepted || !rejected.length) status = 200;
  else if (longestWait) status = 429; // nothing stored and some of it may be retried later
  const content = { success: status < 300, accepted, ids, rejected };
  if (warnings.length) content.warnings = warnings;
  let headers = [];
  if (entries.length) {
    // Where the quotas stand after the batch: the last decision's.
    const last = entries[entries.length - 1];
    headers = rateLimitHeaders(settings.policy, last.system, decisions[decisions.length - 1], nowMs);
    headers = headers.filter(([name]) => name !== "retry-after");
  }
  if (status === 429) headers.push(["retry-after", String(longestWait)]);
  return jsonResponse(status, content, headers);
}
