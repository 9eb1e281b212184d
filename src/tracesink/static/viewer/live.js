// Following a trace live: GET /logs/{id}/live read with fetch() so that it can carry the
// Authorization header (EventSource cannot), resumed after a drop with Last-Event-ID, which the
// server answers by replaying what was missed: nothing is lost or shown twice.

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

/**
 * Follows `path` until `signal` aborts. `on.ready()` when the stream is live, `on.entries(list)`
 * for each arrival (arrival order), `on.lost()` when it dropped (reconnects after a second),
 * `on.unauthorized()` on a 401 (stops).
 */
export async function follow(path, since, headers, signal, on) {
  let cursor = since;
  while (!signal.aborted) {
    try {
      const extra = { Accept: "text/event-stream" };
      if (cursor) extra["Last-Event-ID"] = cursor;
      const response = await fetch(path, { headers: headers(extra), signal, cache: "no-store" });
      if (response.status === 401) { on.unauthorized(); return; }
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
          if (event.event === "ready") on.ready();
          if (event.event === "message" && event.data) arrived.push(JSON.parse(event.data));
        }
        if (arrived.length) on.entries(arrived);
      }
    } catch (error) {
      if (signal.aborted) return;
      console.warn("tracesink live stream:", error);
    }
    on.lost();
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
}
