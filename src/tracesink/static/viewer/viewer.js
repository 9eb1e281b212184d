// tracesink viewer: the recent traces, one trace as a timeline, followed live.
// No framework and no build step: DOM built with textContent only (log text is untrusted),
// the read token kept in sessionStorage (never in the URL), the live stream read with fetch()
// so that it can carry the Authorization header (EventSource cannot), resumed with
// Last-Event-ID. A deep link is #/trace/<id>, with the filters after a "?".

const TOKEN_KEY = "tracesink.readToken";
const SEVERITY = { log: 0, info: 1, warn: 2, error: 3 };
const $ = (id) => document.getElementById(id);
const state = { traceId: null, entries: [], ids: new Set(), ttlMs: null, expiresMs: null, stream: null };

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (key === "text") node.textContent = value;
    else if (key === "class") node.className = value;
    else node.setAttribute(key, value);
  }
  for (const child of children) if (child) node.append(child);
  return node;
}

function status(text) { $("status").textContent = text; }

// --- the read token -------------------------------------------------------------------------

function token() { return sessionStorage.getItem(TOKEN_KEY); }

function headers(extra = {}) {
  const h = { Accept: "application/json", ...extra };
  if (token()) h.Authorization = `Bearer ${token()}`;
  return h;
}

function askToken(refused) {
  if (refused) sessionStorage.removeItem(TOKEN_KEY);
  $("app").hidden = true;
  $("token-form").hidden = false;
  if (refused) $("token-why").textContent = "That token was refused. Enter this tracesink's read token (TRACESINK_READ_TOKEN).";
  $("token").focus();
}

$("token-form").addEventListener("submit", (event) => {
  event.preventDefault();
  sessionStorage.setItem(TOKEN_KEY, $("token").value.trim());
  $("token").value = "";
  $("token-form").hidden = true;
  $("app").hidden = false;
  start();
});

class Unauthorized extends Error {}

async function getJSON(path) {
  const response = await fetch(path, { headers: headers(), cache: "no-store" });
  if (response.status === 401) { askToken(true); throw new Unauthorized(); }
  if (response.status === 404) return null;
  if (!response.ok) {
    let detail = response.statusText;
    try { detail = (await response.json()).error; } catch { /* not JSON */ }
    throw new Error(`${path}: ${response.status} ${detail}`);
  }
  return response.json();
}

// --- routes: #/ and #/trace/<id>?level=&system=&q= -------------------------------------------

function route() {
  const match = location.hash.match(/^#\/trace\/([^?]+)(?:\?(.*))?$/);
  if (!match) return { traceId: null, filters: new URLSearchParams() };
  return { traceId: decodeURIComponent(match[1]), filters: new URLSearchParams(match[2] || "") };
}

function writeFiltersToHash() {
  if (!state.traceId) return;
  const params = new URLSearchParams();
  for (const [name, id] of [["level", "f-level"], ["system", "f-system"], ["q", "f-text"]]) {
    if ($(id).value) params.set(name, $(id).value);
  }
  const query = params.toString();
  history.replaceState(null, "", `#/trace/${encodeURIComponent(state.traceId)}${query ? "?" + query : ""}`);
}

// --- the recent traces ------------------------------------------------------------------------

function clock(iso) { return iso ? iso.slice(11, 23) : ""; }

async function loadTraces() {
  const document_ = await getJSON("/traces?limit=100");
  const traces = document_ ? document_.traces : [];
  if ($("errors-first").checked) {
    traces.sort((a, b) => ((b.levels || {}).error ? 1 : 0) - ((a.levels || {}).error ? 1 : 0));
  }
  const list = $("trace-list");
  list.replaceChildren();
  for (const trace of traces) {
    const errors = (trace.levels || {}).error || 0;
    const link = el("a", { href: `#/trace/${encodeURIComponent(trace.trace_id)}` },
      el("span", { class: "id", text: trace.trace_id }),
      el("span", { class: "sub" },
        `${clock(trace.last_seen)} · ${trace.count} ${trace.count === 1 ? "entry" : "entries"} · ${trace.systems.join(", ")}`,
        errors ? el("span", { class: "errors", text: ` · ${errors} ${errors === 1 ? "error" : "errors"}` }) : null));
    if (trace.trace_id === state.traceId) link.setAttribute("aria-current", "page");
    list.append(el("li", { "data-trace": trace.trace_id }, link));
  }
  $("traces-empty").hidden = traces.length > 0;
}

// --- one trace ----------------------------------------------------------------------------------

function entryRow(entry, isNew) {
  if (entry.kind) { // a drop or trimmed marker, or an item no reader could decode, in its place
    return el("li", { class: "marker", "data-kind": entry.kind, text: entry.message });
  }
  const level = entry.level || "log";
  const system = entry.system || "?";
  const row = el("li", { class: `entry level-row-${level}${isNew ? " new" : ""}`, "data-id": entry.id, "data-level": level, "data-system": system },
    el("span", { class: "time", title: `received ${entry.received_at}; sent ${entry.timestamp}`, text: clock(entry.received_at) }),
    el("span", {}, el("span", { class: `badge sys-${system}`, text: system })),
    el("span", { class: `level level-${level}`, text: level }),
    el("span", { class: "message", text: entry.message }));
  const details = [];
  if (entry.context !== undefined) details.push(el("pre", { "aria-label": "context", text: JSON.stringify(entry.context, null, 2) }));
  const resolvedAny = (entry.resolved || []).some((f) => f.original);
  const note = entry.resolved && entry.release && !resolvedAny
    ? (entry.resolved.find((f) => f.unresolved) || {}).unresolved : null;
  if (resolvedAny) { // through the release's source maps; the raw stack one click away
    details.push(el("pre", { "aria-label": "stack", class: "resolved", text: resolvedText(entry.resolved) }));
    details.push(el("details", {}, el("summary", { text: "raw stack" }), el("pre", { "aria-label": "raw stack", text: entry.stack })));
  } else if (entry.stack) details.push(el("pre", { "aria-label": "stack", text: entry.stack }));
  const about = [`id ${entry.id}`];
  if (entry.release) about.push(`release ${entry.release}`);
  if (note) about.push(`stack not resolved: ${note}`);
  if (entry.user_id) about.push(`user ${entry.user_id}`);
  if (entry.detected_by) about.push(`system from ${entry.detected_by}`);
  if (entry.truncated) about.push("truncated");
  details.push(el("div", { class: "mono", text: about.join(" · ") }));
  const label = [entry.context !== undefined ? "context" : null, entry.stack ? "stack" : null].filter(Boolean).join(" and ") || "details";
  row.append(el("details", {}, el("summary", { text: label }), ...details));
  return row;
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

function matches(entry) {
  if (entry.kind) return true; // a gap is shown whatever the filter
  const level = $("f-level").value, system = $("f-system").value, text = $("f-text").value.trim().toLowerCase();
  if (level && SEVERITY[entry.level] < SEVERITY[level]) return false;
  if (system && entry.system !== system) return false;
  if (text) {
    const haystack = [entry.message, entry.stack, entry.user_id, entry.context === undefined ? "" : JSON.stringify(entry.context)].join("\n").toLowerCase();
    if (!haystack.includes(text)) return false;
  }
  return true;
}

function render(newIds = new Set()) {
  const list = $("entries");
  list.replaceChildren();
  let shown = 0;
  const total = state.entries.filter((e) => !e.kind).length;
  for (const entry of state.entries) {
    if (!matches(entry)) continue;
    if (!entry.kind) shown += 1;
    list.append(entryRow(entry, newIds.has(entry.id)));
  }
  $("shown").textContent = shown === total ? `${total} entries` : `${shown} of ${total} entries`;
  const systems = [...new Set(state.entries.filter((e) => e.system).map((e) => e.system))].sort();
  const select = $("f-system"), chosen = select.value;
  select.replaceChildren(el("option", { value: "", text: "all" }), ...systems.map((s) => el("option", { value: s, text: s })));
  select.value = systems.includes(chosen) ? chosen : "";
  renderMeta();
}

function renderMeta() {
  const dropped = state.entries.filter((e) => e.kind === "dropped").reduce((n, e) => n + (e.count || 0), 0);
  const parts = [];
  if (state.expiresMs) parts.push(`expires ${new Date(state.expiresMs).toISOString().replace(".000Z", "Z")}`);
  if (dropped) parts.push(`${dropped} dropped by the rate limits (marked where it happened)`);
  $("trace-meta").textContent = parts.join(" · ");
}

async function openTrace(traceId, filters) {
  stopStream();
  state.traceId = traceId;
  state.entries = [];
  state.ids = new Set();
  $("trace-title").textContent = traceId ? `Trace ${traceId}` : "Pick a trace";
  $("filters").hidden = !traceId;
  $("entries").replaceChildren();
  $("trace-meta").textContent = "";
  for (const link of document.querySelectorAll("#trace-list a")) {
    if (link.closest("li").dataset.trace === traceId) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  if (!traceId) return;
  $("f-level").value = filters.get("level") || "";
  $("f-text").value = filters.get("q") || "";
  const trace = await getJSON(`/logs/${encodeURIComponent(traceId)}?resolve=1`);
  if (state.traceId !== traceId) return;
  if (trace) {
    state.entries = trace.entries;
    for (const entry of trace.entries) if (entry.id) state.ids.add(entry.id);
    const last = [...trace.entries].reverse().find((e) => e.received_at);
    state.expiresMs = trace.expires_at ? Date.parse(trace.expires_at) : null;
    state.ttlMs = state.expiresMs && last ? state.expiresMs - Date.parse(last.received_at) : null;
  } else {
    $("trace-meta").textContent = "Nothing stored under this id yet (or it expired); new entries appear here.";
  }
  render();
  $("f-system").value = filters.get("system") || "";
  render();
  followTrace(traceId, trace ? trace.last_id : null);
}

// --- following live -----------------------------------------------------------------------------

function stopStream() {
  if (state.stream) state.stream.abort();
  state.stream = null;
  $("live").hidden = true;
}

function parseEvent(block) {
  const event = { event: "message", data: [], id: null };
  for (const line of block.split("\n")) {
    if (!line || line.startsWith(":")) continue;
    const colon = line.indexOf(":");
    const name = colon < 0 ? line : line.slice(0, colon);
    const value = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
    if (name === "data") event.data.push(value);
    else if (name === "event") event.event = value;
    else if (name === "id") event.id = value;
  }
  return { ...event, data: event.data.join("\n") }; // no data lines: not an event (retry:)
}

async function followTrace(traceId, since) {
  const controller = new AbortController();
  state.stream = controller;
  let cursor = since;
  const path = `/logs/${encodeURIComponent(traceId)}/live`;
  while (!controller.signal.aborted) {
    try {
      const extra = { Accept: "text/event-stream" };
      if (cursor) extra["Last-Event-ID"] = cursor;
      const response = await fetch(path, { headers: headers(extra), signal: controller.signal, cache: "no-store" });
      if (response.status === 401) { askToken(true); return; }
      if (!response.ok) throw new Error(`live: ${response.status}`);
      const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += value.replace(/\r\n?/g, "\n");
        let end;
        const arrived = [];
        while ((end = buffer.indexOf("\n\n")) >= 0) {
          const event = parseEvent(buffer.slice(0, end));
          buffer = buffer.slice(end + 2);
          if (event.id) cursor = event.id;
          if (event.event === "ready") { $("live").hidden = false; status(""); }
          if (event.event === "message" && event.data) arrived.push(JSON.parse(event.data));
        }
        if (arrived.length) receive(arrived);
      }
    } catch (error) {
      if (controller.signal.aborted) return;
      console.warn("tracesink live stream:", error);
    }
    $("live").hidden = true;
    status("live stream interrupted; reconnecting…");
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
}

function receive(arrived) {
  const fresh = arrived.filter((e) => !state.ids.has(e.id));
  if (!fresh.length) return;
  for (const entry of fresh) {
    state.ids.add(entry.id);
    state.entries.push(entry);
    if (state.ttlMs) state.expiresMs = Date.parse(entry.received_at) + state.ttlMs;
  }
  render(new Set(fresh.map((e) => e.id)));
  const row = document.querySelector(`#trace-list li[data-trace="${CSS.escape(state.traceId)}"] .sub`);
  if (!row) loadTraces().catch(() => {});
}

// --- wiring -------------------------------------------------------------------------------------

for (const id of ["f-level", "f-system", "f-text"]) {
  $(id).addEventListener("input", () => { render(); writeFiltersToHash(); });
}
$("filters").addEventListener("submit", (event) => event.preventDefault());
$("refresh").addEventListener("click", () => loadTraces().catch(report));
$("errors-first").addEventListener("change", () => loadTraces().catch(report));
window.addEventListener("hashchange", () => { const r = route(); if (r.traceId !== state.traceId) openTrace(r.traceId, r.filters).catch(report); });
document.addEventListener("keydown", (event) => {
  const typing = ["INPUT", "SELECT", "TEXTAREA"].includes(document.activeElement.tagName);
  if (event.key === "/" && !typing) { event.preventDefault(); $("f-text").focus(); }
  else if (event.key === "r" && !typing && !event.ctrlKey && !event.metaKey) loadTraces().catch(report);
  else if (event.key === "Escape" && document.activeElement === $("f-text")) { $("f-text").value = ""; render(); writeFiltersToHash(); }
});
// A hidden tab stops following (a shared store is polled only while someone watches) and
// resumes from where it was when shown again.
document.addEventListener("visibilitychange", () => {
  if (!state.traceId) return;
  if (document.hidden) stopStream();
  else if (!state.stream) {
    const last = [...state.entries].reverse().find((e) => e.id);
    followTrace(state.traceId, last ? last.id : null);
  }
});

// "Copy as Markdown": the server's report of the open trace (GET /logs/<id>?format=md), with
// the filters shown, for a bug report or an agent's prompt.
async function copyMarkdown() {
  const params = new URLSearchParams({ format: "md" });
  for (const [name, id] of [["level", "f-level"], ["system", "f-system"], ["q", "f-text"]]) {
    if ($(id).value) params.set(name, $(id).value);
  }
  const path = `/logs/${encodeURIComponent(state.traceId)}?${params}`;
  const response = await fetch(path, { headers: headers({ Accept: "text/markdown" }), cache: "no-store" });
  if (response.status === 401) { askToken(true); return; }
  if (!response.ok) throw new Error(`copy as Markdown: ${response.status} ${response.statusText}`);
  await navigator.clipboard.writeText(await response.text());
  status("Copied the trace as Markdown");
}
$("copy-md").addEventListener("click", () => copyMarkdown().catch(report));

function report(error) {
  if (error instanceof Unauthorized) return;
  status(String(error.message || error));
}

async function start() {
  if (document.body.dataset.tokenRequired === "true" && !token()) { askToken(false); return; }
  try {
    await loadTraces();
    const r = route();
    await openTrace(r.traceId, r.filters);
  } catch (error) { report(error); }
}

start();
