// One trace: a row per entry (one line: wall time, time since the first entry, system, level,
// message; details on demand), the timeline strip above, the filters, and moving through it
// from the keyboard (next/previous entry, next/previous error).

import { $, el } from "./dom.js";
import { colourClass, correction, duration, eventKey, inEventOrder, insertionIndex, millis, relative, wallClock } from "./format.js";
import { details } from "./entry-details.js";
import { drawTimeline, markCurrent } from "./timeline.js";

const SEVERITY = { log: 0, info: 1, warn: 2, error: 3 };

export const view = {
  traceId: null,
  entries: [], // event order, drop markers and placeholders in place
  ids: new Set(),
  open: new Set(), // ids whose details are open: they stay open when new entries arrive
  selected: null, // the id of the row the keys move from
  trace: null, // the rest of the last GET /logs/{id} answer (expires_at, trimmed, …)
};

export function resetView(traceId) {
  built = new WeakMap();
  Object.assign(view, { traceId, entries: [], ids: new Set(), open: new Set(), selected: null, trace: null });
}

/** A trace as GET /logs/{id} answered it (told by event time whatever order it came in). */
export function loadEntries(trace) {
  view.trace = trace;
  view.entries = inEventOrder(trace.entries);
  for (const entry of view.entries) if (entry.id) view.ids.add(entry.id);
}

/** Entries from the live stream (arrival order), each put where it happened; the fresh ids. */
export function addEntries(arrived) {
  const fresh = new Set();
  for (const entry of arrived) {
    if (entry.id && view.ids.has(entry.id)) continue;
    if (entry.id) { view.ids.add(entry.id); fresh.add(entry.id); }
    view.entries.splice(insertionIndex(view.entries, entry), 0, entry);
  }
  return fresh;
}

const isEntry = (item) => !item.kind;

function origin() {
  const first = view.entries.find((e) => isEntry(e) && eventKey(e));
  return first ? millis(first.timestamp) : NaN;
}

// --- filters ---------------------------------------------------------------------------------

function filters() {
  return { level: $("f-level").value, system: $("f-system").value, text: $("f-text").value.trim().toLowerCase() };
}

function matches(entry, wanted = filters()) {
  if (!isEntry(entry)) return true; // a gap or a placeholder is shown whatever the filter
  if (wanted.level && SEVERITY[entry.level] < SEVERITY[wanted.level]) return false;
  if (wanted.system && entry.system !== wanted.system) return false;
  if (wanted.text) {
    const haystack = [entry.message, entry.stack, entry.user_id, entry.context === undefined ? "" : JSON.stringify(entry.context)].join("\n").toLowerCase();
    if (!haystack.includes(wanted.text)) return false;
  }
  return true;
}

function describeFilters(wanted) {
  const parts = [];
  if (wanted.level) parts.push(`level ${wanted.level}${wanted.level === "error" ? "" : " or worse"}`);
  if (wanted.system) parts.push(`system ${wanted.system}`);
  if (wanted.text) parts.push(`text “${$("f-text").value.trim()}”`);
  return parts.join(", ");
}

// --- rows ------------------------------------------------------------------------------------

function markerRow(item, start) {
  const at = item.kind === "dropped" ? item.first : null;
  const label = { dropped: "gap", undecodable: "undecodable entry", trimmed: "trimmed" }[item.kind] || item.kind;
  return el("li", { class: `marker marker-${item.kind}`, "data-kind": item.kind, title: item.message },
    el("span", { class: "wall", text: wallClock(at) }),
    el("span", { class: "rel", text: at ? relative(millis(at) - start) : "" }),
    el("span", { class: "kind", text: label }),
    el("span", { class: "message", text: item.message || "" }));
}

// A row is built once per entry and reused by every later render (a filter change, a live
// arrival), so a 1,000-entry trace is not rebuilt on each keystroke; it is rebuilt only when
// the trace's first entry changes (its relative time moves). An opened row stays open.
let built = new WeakMap();

function rowOf(item, start) {
  const cached = built.get(item);
  if (cached && (cached.start === start || (Number.isNaN(start) && Number.isNaN(cached.start)))) return cached.row;
  const row = isEntry(item) ? entryRow(item, start) : markerRow(item, start);
  built.set(item, { row, start });
  return row;
}

function entryRow(entry, start) {
  const level = entry.level || "log";
  const system = entry.system || "?";
  const hints = [];
  if (entry.context !== undefined) hints.push("context");
  if (entry.stack) hints.push("stack");
  if (entry.clock_offset_ms !== undefined) hints.push(correction(entry.clock_offset_ms));
  const summary = el("summary", { class: "line", title: "Enter or click: details" },
    el("time", { class: "wall", datetime: entry.timestamp, text: wallClock(entry.timestamp) }),
    el("span", { class: "rel", text: relative(millis(entry.timestamp) - start) }),
    el("span", { class: `badge ${colourClass(system)}`, text: system }),
    el("span", { class: `level level-${level}`, text: level }),
    el("span", { class: "message", text: entry.message }),
    hints.length ? el("span", { class: "hints", text: hints.join(" · ") }) : null);
  const box = el("details", {}, summary);
  const fill = () => { if (box.open && box.childElementCount === 1) box.append(details(entry, start, view.traceId)); };
  box.addEventListener("toggle", () => {
    fill();
    if (box.open) view.open.add(entry.id); else view.open.delete(entry.id);
  });
  if (view.open.has(entry.id)) { box.open = true; fill(); }
  return el("li", { class: `entry level-row-${level}`, "data-id": entry.id, "data-level": level, "data-system": system }, box);
}

// --- the whole trace -------------------------------------------------------------------------

export function render(newIds = new Set()) {
  const wanted = filters();
  const start = origin();
  const list = $("entries");
  const rows = [];
  let shown = 0;
  const total = view.entries.filter(isEntry).length;
  for (const entry of view.entries) {
    if (!matches(entry, wanted)) continue;
    const row = rowOf(entry, start);
    if (isEntry(entry)) {
      shown += 1;
      row.classList.toggle("new", newIds.has(entry.id)); // re-inserted: the animation replays
      row.classList.toggle("selected", entry.id === view.selected);
    }
    rows.push(row);
  }
  list.replaceChildren(...rows);
  rove();
  $("shown").textContent = shown === total ? `${total} ${total === 1 ? "entry" : "entries"}` : `${shown} of ${total} entries`;
  const filtered = describeFilters(wanted);
  const empty = $("entries-empty");
  empty.hidden = !(total > 0 && shown === 0);
  if (!empty.hidden) $("entries-empty-why").textContent = `No entry matches ${filtered}: all ${total} are hidden.`;
  fillSystems();
  drawStrip(start, wanted);
  renderMeta(start);
  // A row scrolled to from the keyboard must not land under the sticky head.
  list.style.setProperty("--head", `${$("trace-top").offsetHeight + 4}px`);
}

function fillSystems() {
  const systems = [...new Set(view.entries.filter(isEntry).map((e) => e.system))].sort();
  const select = $("f-system"), chosen = select.value;
  select.replaceChildren(el("option", { value: "", text: "all" }), ...systems.map((s) => el("option", { value: s, text: s })));
  select.value = systems.includes(chosen) ? chosen : "";
}

function drawStrip(start, wanted) {
  let lo = start, hi = start;
  for (const item of view.entries) {
    const times = item.kind === "dropped" ? [millis(item.first), millis(item.last)] : isEntry(item) ? [millis(item.timestamp)] : [];
    for (const t of times) if (Number.isFinite(t)) { lo = Math.min(lo, t); hi = Math.max(hi, t); }
  }
  drawTimeline($("strip"), view.entries, {
    origin: start, start: lo, end: hi,
    shown: (entry) => matches(entry, wanted),
    pick: (id) => select(id, { open: false, block: "center" }),
  });
  markCurrent($("strip"), view.selected);
}

function renderMeta(start) {
  const entries = view.entries.filter(isEntry);
  const trace = view.trace || {};
  const parts = [];
  if (entries.length) {
    const last = millis(entries.reduce((a, e) => (e.timestamp > a ? e.timestamp : a), ""));
    parts.push(`began ${wallClock(entries.find((e) => eventKey(e)).timestamp)} UTC, lasted ${duration(last - start)}`);
  }
  const errors = entries.filter((e) => e.level === "error").length;
  if (errors) parts.push(`${errors} ${errors === 1 ? "error" : "errors"}`);
  const dropped = view.entries.filter((e) => e.kind === "dropped").reduce((n, e) => n + (e.count || 0), 0);
  if (dropped) parts.push(`${dropped} dropped by the rate limits (marked where it happened)`);
  if (trace.trimmed) parts.push(`${trace.trimmed} oldest items trimmed: the trace reached its cap`);
  const clocks = new Map();
  for (const e of entries) {
    if (e.clock_offset_ms === undefined) continue;
    const seen = clocks.get(e.system) || [];
    clocks.set(e.system, [...seen, e.clock_offset_ms]);
  }
  for (const [system, offsets] of clocks) {
    const median = [...offsets].sort((a, b) => a - b)[Math.floor(offsets.length / 2)];
    parts.push(`${system} ${correction(median)} (${offsets.length} ${offsets.length === 1 ? "entry" : "entries"})`);
  }
  if (trace.expires_at) parts.push(`expires ${trace.expires_at.replace(".000Z", "Z")}`);
  $("trace-meta").textContent = parts.join(" · ");
}

// --- moving through it -----------------------------------------------------------------------

function rowsOf(selector) { return [...$("entries").querySelectorAll(selector)]; }

// One row is a tab stop (the selected one, else the first): Tab goes from the filters to the
// rows and on, not through a thousand of them; j/k and the arrows move between rows.
function rove() {
  const rows = rowsOf("li.entry > details > summary");
  for (const summary of rows) summary.tabIndex = -1;
  const chosen = view.selected && $("entries").querySelector(`li.entry[data-id="${CSS.escape(view.selected)}"] > details > summary`);
  if (chosen || rows.length) (chosen || rows[0]).tabIndex = 0;
}

/** Selects the row of `id`: focused (its summary), scrolled into view, marked on the strip. */
export function select(id, { open = false, block = "nearest" } = {}) {
  const row = $("entries").querySelector(`li.entry[data-id="${CSS.escape(id)}"]`);
  if (!row) return false;
  for (const old of rowsOf("li.entry.selected")) old.classList.remove("selected");
  row.classList.add("selected");
  view.selected = id;
  rove();
  const box = row.querySelector("details");
  if (open) box.open = true;
  row.querySelector("summary").focus({ preventScroll: true });
  row.scrollIntoView({ block });
  markCurrent($("strip"), id);
  return true;
}

/** The next (+1) or previous (-1) row, from the selected one. */
export function move(step) {
  const rows = rowsOf("li.entry");
  if (!rows.length) return;
  const at = rows.findIndex((r) => r.dataset.id === view.selected);
  const next = at < 0 ? (step > 0 ? 0 : rows.length - 1) : Math.min(Math.max(at + step, 0), rows.length - 1);
  select(rows[next].dataset.id);
}

/** The next (+1) or previous (-1) error after the selected row, or the first (0); what it did. */
export function jumpToError(step) {
  const rows = rowsOf("li.entry");
  const errors = rows.filter((r) => r.dataset.level === "error");
  if (!errors.length) return "no error in this trace (under these filters)";
  const at = rows.findIndex((r) => r.dataset.id === view.selected);
  let target;
  if (step === 0 || at < 0) target = step < 0 ? errors[errors.length - 1] : errors[0];
  else if (step > 0) target = errors.find((r) => rows.indexOf(r) > at);
  else target = [...errors].reverse().find((r) => rows.indexOf(r) < at);
  if (!target) return step > 0 ? "no error after this one (E goes back)" : "no error before this one (e goes on)";
  select(target.dataset.id, { block: "center" });
  const n = errors.indexOf(target) + 1;
  return `error ${n} of ${errors.length}`;
}

/** Keeps the selection on the row the reader clicked or tabbed to. */
$("entries").addEventListener("focusin", (event) => {
  const row = event.target.closest("li.entry");
  if (!row || row.dataset.id === view.selected) return;
  for (const old of rowsOf("li.entry.selected")) old.classList.remove("selected");
  row.classList.add("selected");
  view.selected = row.dataset.id;
  rove();
  markCurrent($("strip"), view.selected);
});
