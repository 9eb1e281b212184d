// The timeline strip: one lane per system (in the order each first speaks), a tick where each
// entry falls by event time, errors as tall marked ticks, and a lane for the gaps where the
// rate limits dropped entries. Positions are set through the CSSOM (el.style), which the
// page's CSP allows, unlike style attributes. Ticks are not tab stops (a trace can hold
// thousands): the keyboard moves through the rows (j/k, e/E) and the strip follows.

import { el } from "./dom.js";
import { colourClass, millis, relative } from "./format.js";

const percent = (ms, start, span) => `${(100 * (ms - start)) / span}%`;

/**
 * Draws `entries` (event order) into `strip` over [start, end] (ms), times said relative to
 * `origin` (the first entry). `shown(entry)` says whether the row filters keep
 * it (filtered-out ticks are drawn faint); `pick(id)` is called with the id of a clicked tick.
 */
export function drawTimeline(strip, entries, { origin, start, end, shown, pick }) {
  const span = Math.max(end - start, 1);
  const lanes = new Map();
  const drops = [];
  for (const entry of entries) {
    if (entry.kind === "dropped") drops.push(entry);
    else if (!entry.kind && !lanes.has(entry.system)) lanes.set(entry.system, []);
    if (!entry.kind) lanes.get(entry.system).push(entry);
  }
  const rows = [];
  for (const [system, members] of lanes) {
    const track = el("div", { class: "track" });
    const errors = members.filter((e) => e.level === "error").length;
    for (const entry of members) {
      const at = millis(entry.timestamp);
      const tick = el("span", {
        class: `tick ${colourClass(system)}${entry.level === "error" ? " err" : ""}${shown(entry) ? "" : " out"}`,
        "data-id": entry.id,
        title: `${relative(at - origin)} ${system} ${entry.level || "log"}: ${entry.message}`,
      });
      tick.style.left = percent(at, start, span);
      track.append(tick);
    }
    const name = `${system}${errors ? ` · ${errors} ${errors === 1 ? "error" : "errors"}` : ""}`;
    rows.push(el("div", { class: "lane", "data-system": system },
      el("span", { class: `lane-name ${colourClass(system)}`, title: name, text: name }), track));
  }
  if (drops.length) {
    const track = el("div", { class: "track" });
    for (const marker of drops) {
      const first = millis(marker.first), last = Math.max(millis(marker.last), first);
      const gap = el("span", { class: "gap", title: marker.message });
      gap.style.left = percent(Math.min(Math.max(first, start), end), start, span);
      gap.style.width = `max(4px, ${(100 * (Math.min(last, end) - Math.max(first, start))) / span}%)`;
      track.append(gap);
    }
    rows.push(el("div", { class: "lane drops", "data-system": "" },
      el("span", { class: "lane-name", text: "dropped" }), track));
  }
  const axis = el("div", { class: "axis", "aria-hidden": "true" },
    el("span", { text: relative(start - origin) }), el("span", { text: relative(end - origin) }));
  strip.replaceChildren(...rows, axis);
  strip.hidden = rows.length === 0;
  strip.onclick = (event) => {
    const tick = event.target.closest(".tick");
    if (tick) pick(tick.dataset.id);
  };
}

/** Marks the tick of the selected row (or none), so the strip says where the reader is. */
export function markCurrent(strip, id) {
  for (const tick of strip.querySelectorAll(".tick.current")) tick.classList.remove("current");
  if (!id) return;
  const tick = strip.querySelector(`.tick[data-id="${CSS.escape(id)}"]`);
  if (tick) tick.classList.add("current");
}
