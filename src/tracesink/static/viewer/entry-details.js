// What an entry's row opens to: both times, the clock correction, the system and how it was
// detected, the ids and release, then the full message, the context and the stack (through the
// release's source maps when GET /logs resolved it, the raw stack one click away).

import { el } from "./dom.js";
import { correction, millis, relative } from "./format.js";

function fact(name, ...value) {
  return [el("dt", { text: name }), el("dd", {}, ...value)];
}

/** What a row opens to; `traceId` is the trace it belongs to. */
export function details(entry, start, traceId) {
  const facts = [
    ...fact("time", `${entry.timestamp} (when it happened) · ${relative(millis(entry.timestamp) - start)} after the first entry`),
    ...fact("received", `${entry.received_at} (by tracesink)`),
  ];
  if (entry.clock_offset_ms !== undefined) {
    facts.push(...fact("clock", `${correction(entry.clock_offset_ms)}: sent as ${entry.sent_timestamp || "?"} by a clock that was off`));
  }
  const system = [entry.system];
  if (entry.detected_by) system.push(`detected from ${entry.detected_by}`);
  if (entry.counted_as) system.push(`counted as ${entry.counted_as}`);
  facts.push(...fact("system", system.join(" · ")));
  const ids = [`entry ${entry.id}`];
  if (entry.user_id) ids.push(`user ${entry.user_id}`);
  if (traceId) ids.push(`trace ${traceId}`);
  if (entry.release) ids.push(`release ${entry.release}`);
  facts.push(...fact("ids", ids.join(" · ")));
  const resolvedAny = (entry.resolved || []).some((f) => f.original);
  const note = entry.resolved && entry.release && !resolvedAny ? (entry.resolved.find((f) => f.unresolved) || {}).unresolved : null;
  if (note) facts.push(...fact("source", `stack not resolved: ${note}`));
  if (entry.truncated) facts.push(...fact("truncated", "cut to the size limits on arrival"));
  const parts = [el("dl", { class: "facts" }, ...facts)];
  if (/\n/.test(entry.message) || entry.message.length > 120) parts.push(el("pre", { "aria-label": "message", text: entry.message }));
  if (entry.context !== undefined) parts.push(el("pre", { "aria-label": "context", text: JSON.stringify(entry.context, null, 2) }));
  if (resolvedAny) { // through the release's source maps; the raw stack one click away
    parts.push(el("pre", { "aria-label": "stack", class: "resolved", text: resolvedText(entry.resolved) }));
    parts.push(el("details", { class: "raw" }, el("summary", { text: "raw stack" }), el("pre", { "aria-label": "raw stack", text: entry.stack })));
  } else if (entry.stack) parts.push(el("pre", { "aria-label": "stack", text: entry.stack }));
  return el("div", { class: "more" }, ...parts);
}

// A resolved stack as text: as sourcemaps/resolve.py's resolved_text writes it for the terminal.
function resolvedText(frames) {
  const lines = [];
  for (const f of frames) {
    const o = f.original;
    if (o) {
      const where = `${o.file}:${o.line}:${o.column}`;
      const name = o.function || f.function;
      lines.push(name ? `    at ${name} (${where})` : `    at ${where}`);
      if (o.context) lines.push(`        ${o.context.trim()}`);
    } else if (f.unresolved) lines.push(`${f.raw}  [unresolved: ${f.unresolved}]`);
    else lines.push(f.raw);
  }
  return lines.join("\n");
}
