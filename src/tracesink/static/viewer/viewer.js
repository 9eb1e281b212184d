// tracesink viewer: the recent traces (searchable), one trace told by event time with its
// timeline, followed live. No framework and no build step: plain ES modules served by the
// service, DOM built with textContent only (log text is untrusted), the read token kept in
// sessionStorage (never in the URL). A deep link is #/trace/<id>, with the filters after a "?".

import { $, el } from "./dom.js";
import { colourClass, wallClock } from "./format.js";
import { follow } from "./live.js";
import { addEntries, jumpToError, loadEntries, move, render, resetView, view } from "./trace-view.js";

const TOKEN_KEY = "tracesink.readToken";
const LISTED = 100;
const page = { traces: [], stream: null };

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
  if (!view.traceId) return;
  const params = new URLSearchParams();
  for (const [name, id] of [["level", "f-level"], ["system", "f-system"], ["q", "f-text"]]) {
    if ($(id).value) params.set(name, $(id).value);
  }
  const query = params.toString();
  history.replaceState(null, "", `#/trace/${encodeURIComponent(view.traceId)}${query ? "?" + query : ""}`);
}

// --- the recent traces ------------------------------------------------------------------------

async function loadTraces() {
  const answer = await getJSON(`/traces?limit=${LISTED}`);
  page.traces = answer ? answer.traces : [];
  showTraces();
}

function traceItem(trace) {
  const errors = (trace.levels || {}).error || 0;
  const systems = trace.systems.flatMap((s, i) => [i ? ", " : "", el("span", { class: colourClass(s), text: s })]);
  const link = el("a", { href: `#/trace/${encodeURIComponent(trace.trace_id)}` },
    el("span", { class: "id", text: trace.trace_id }),
    el("span", { class: "sub" },
      `${wallClock(trace.last_seen)} · ${trace.count} ${trace.count === 1 ? "entry" : "entries"} · `, ...systems,
      errors ? el("span", { class: "errors", text: ` · ${errors} ${errors === 1 ? "error" : "errors"}` }) : null,
      trace.pinned_until ? " · pinned" : null),
    trace.preview ? el("span", { class: `preview${errors ? " err" : ""}`, text: `${errors ? "error: " : ""}${trace.preview}` }) : null);
  if (trace.trace_id === view.traceId) link.setAttribute("aria-current", "page");
  return el("li", { "data-trace": trace.trace_id }, link);
}

/** The list as the search box and "errors first" want it; an empty list says why. */
function showTraces() {
  const query = $("trace-search").value.trim().toLowerCase();
  let traces = page.traces.filter((t) => !query || t.trace_id.toLowerCase().includes(query) || (t.preview || "").toLowerCase().includes(query));
  if ($("errors-first").checked) {
    traces = [...traces].sort((a, b) => ((b.levels || {}).error ? 1 : 0) - ((a.levels || {}).error ? 1 : 0));
  }
  $("trace-list").replaceChildren(...traces.map(traceItem));
  $("traces-none").hidden = page.traces.length > 0;
  showStart();
  $("traces-nomatch").hidden = !(page.traces.length > 0 && traces.length === 0);
  if (!$("traces-nomatch").hidden) {
    const among = page.traces.length === 1 ? "the one recent trace" : `the ${page.traces.length} most recent traces`;
    $("traces-nomatch-why").textContent = `No trace id or preview among ${among} contains “${$("trace-search").value.trim()}”.`;
  }
}

/** With no trace open: "pick one", or, when there is none at all, how to send the first. */
function showStart() {
  const none = page.traces.length === 0;
  $("trace-none").hidden = Boolean(view.traceId) || none;
  $("first-steps").hidden = Boolean(view.traceId) || !none;
}

function fillSendExample() {
  const keyed = document.body.dataset.ingestKeyRequired === "true";
  const lines = [
    `curl -X POST ${location.origin}/log \\`,
    "  -H 'Content-Type: application/json' \\",
    ...(keyed ? ["  -H 'X-Tracesink-Key: <an ingest key from TRACESINK_INGEST_KEYS>' \\"] : []),
    `  -d '{"trace_id": "demo-1", "message": "hello", "level": "info"}'`,
  ];
  $("send-example").textContent = lines.join("\n");
}

// --- one trace ----------------------------------------------------------------------------------

async function openTrace(traceId, filters) {
  stopStream();
  resetView(traceId);
  $("trace-title").textContent = traceId ? `Trace ${traceId}` : "No trace open";
  document.title = traceId ? `${traceId} · tracesink` : "tracesink";
  status("");
  $("trace-body").hidden = !traceId;
  $("filters").hidden = !traceId;
  showStart();
  $("trace-missing").hidden = true;
  $("entries").replaceChildren();
  $("trace-meta").textContent = "";
  showPin(null);
  for (const link of document.querySelectorAll("#trace-list a")) {
    if (link.closest("li").dataset.trace === traceId) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  if (!traceId) return;
  $("f-level").value = filters.get("level") || "";
  $("f-text").value = filters.get("q") || "";
  // resolve=1: stacks through the release's source maps (the raw stack is kept beside them)
  const trace = await getJSON(`/logs/${encodeURIComponent(traceId)}?resolve=1`);
  if (view.traceId !== traceId) return;
  if (trace) loadEntries(trace);
  $("trace-missing").hidden = Boolean(trace);
  showPin(trace);
  render();
  $("f-system").value = filters.get("system") || "";
  render();
  startStream(traceId, trace ? trace.last_id : null);
}

function stopStream() {
  if (page.stream) page.stream.abort();
  page.stream = null;
  $("live").hidden = true;
}

function startStream(traceId, since) {
  const controller = new AbortController();
  page.stream = controller;
  follow(`/logs/${encodeURIComponent(traceId)}/live?resolve=1`, since, headers, controller.signal, {
    ready: () => { $("live").hidden = false; status(""); },
    lost: () => { $("live").hidden = true; status("live stream interrupted; reconnecting…"); },
    unauthorized: () => askToken(true),
    entries: (arrived) => {
      const fresh = addEntries(arrived);
      if (!fresh.size) return;
      $("trace-missing").hidden = true;
      render(fresh);
      if (!document.querySelector(`#trace-list li[data-trace="${CSS.escape(traceId)}"]`)) loadTraces().catch(() => {});
    },
  });
}

// --- pinning: POST / DELETE /logs/{id}/pin (docs/reading.md, "Pinning a trace") --------------

function showPin(trace) {
  const pinned = Boolean(trace && trace.pinned_until);
  $("pin").hidden = !trace;
  $("pin").textContent = pinned ? "Unpin" : "Pin";
  $("pin").setAttribute("aria-pressed", String(pinned));
}

async function togglePin() {
  const traceId = view.traceId;
  const pinned = Boolean(view.trace && view.trace.pinned_until);
  const response = await fetch(`/logs/${encodeURIComponent(traceId)}/pin`, { method: pinned ? "DELETE" : "POST", headers: headers() });
  if (response.status === 401) { askToken(true); return; }
  if (!response.ok) {
    let detail = response.statusText;
    try { detail = (await response.json()).error; } catch { /* not JSON */ }
    status(`could not ${pinned ? "unpin" : "pin"} ${traceId}: ${detail}`);
    return;
  }
  const trace = await getJSON(`/logs/${encodeURIComponent(traceId)}`);
  if (view.traceId !== traceId) return;
  if (view.trace) Object.assign(view.trace, { pinned_until: trace ? trace.pinned_until : null, expires_at: trace ? trace.expires_at : null });
  status(pinned ? (trace ? `unpinned ${traceId}` : `unpinned ${traceId}: its hour had passed, it is gone`) : `pinned ${traceId} until ${trace.pinned_until}`);
  showPin(trace);
  render();
  loadTraces().catch(() => {});
}

// --- wiring -------------------------------------------------------------------------------------

for (const id of ["f-level", "f-system", "f-text"]) {
  $(id).addEventListener("input", () => { render(); writeFiltersToHash(); });
}
function clearFilters() {
  for (const id of ["f-level", "f-system", "f-text"]) $(id).value = "";
  render();
  writeFiltersToHash();
}
$("filters").addEventListener("submit", (event) => event.preventDefault());
$("clear-filters").addEventListener("click", clearFilters);
$("first-error").addEventListener("click", () => status(jumpToError(0)));
$("trace-search").addEventListener("input", showTraces);
$("clear-search").addEventListener("click", () => { $("trace-search").value = ""; showTraces(); $("trace-search").focus(); });
$("refresh").addEventListener("click", () => loadTraces().catch(report));
$("pin").addEventListener("click", () => togglePin().catch(report));
$("errors-first").addEventListener("change", showTraces);
window.addEventListener("hashchange", () => { const r = route(); if (r.traceId !== view.traceId) openTrace(r.traceId, r.filters).catch(report); });

const KEYS = {
  "/": () => (view.traceId ? $("f-text") : $("trace-search")).focus(),
  t: () => $("trace-search").focus(),
  r: () => loadTraces().catch(report),
  e: () => status(jumpToError(+1)),
  E: () => status(jumpToError(-1)),
  j: () => move(+1),
  k: () => move(-1),
};
document.addEventListener("keydown", (event) => {
  const typing = ["INPUT", "SELECT", "TEXTAREA"].includes(document.activeElement.tagName);
  if (event.key === "Escape" && document.activeElement === $("f-text")) { $("f-text").value = ""; render(); writeFiltersToHash(); return; }
  if (event.key === "Escape" && document.activeElement === $("trace-search")) { $("trace-search").value = ""; showTraces(); return; }
  if ((event.key === "ArrowDown" || event.key === "ArrowUp") && document.activeElement.closest("#entries")) {
    event.preventDefault(); // from a row, the arrows move between rows as j / k do
    move(event.key === "ArrowDown" ? +1 : -1);
    return;
  }
  if (typing || event.ctrlKey || event.metaKey || event.altKey || !Object.hasOwn(KEYS, event.key)) return;
  event.preventDefault();
  KEYS[event.key]();
});
// A hidden tab stops following (a shared store is polled only while someone watches) and
// resumes from where it was when shown again.
document.addEventListener("visibilitychange", () => {
  if (!view.traceId) return;
  if (document.hidden) stopStream();
  else if (!page.stream) {
    const last = view.entries.filter((e) => e.id).map((e) => e.id).sort().pop();
    startStream(view.traceId, last || null);
  }
});

// "Copy as Markdown": the server's report of the open trace (GET /logs/<id>?format=md), with
// the filters shown, for a bug report or an agent's prompt.
async function copyMarkdown() {
  const params = new URLSearchParams({ format: "md" });
  for (const [name, id] of [["level", "f-level"], ["system", "f-system"], ["q", "f-text"]]) {
    if ($(id).value) params.set(name, $(id).value);
  }
  const path = `/logs/${encodeURIComponent(view.traceId)}?${params}`;
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
  fillSendExample();
  if (document.body.dataset.tokenRequired === "true" && !token()) { askToken(false); return; }
  try {
    await loadTraces();
    const r = route();
    await openTrace(r.traceId, r.filters);
  } catch (error) { report(error); }
}

start();
