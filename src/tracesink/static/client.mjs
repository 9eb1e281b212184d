// tracesink browser client as an ES module, for apps that bundle their code (Next.js, Vite…).
// The code is client.js's; importing it sets globalThis.TraceSink without starting anything
// (and does nothing at all on a server, during SSR). Call init() once, e.g. in a root layout.
import "./client.js";

const sink = globalThis.TraceSink;

/** Start capturing (once; later calls return the running client). */
export function init(options) {
  return sink.init(options);
}

/** The page's trace id (null before init() and on a server). */
export function getTraceId() {
  return sink.traceId;
}

/** Send everything queued now; resolves when the server has answered. */
export function flush() {
  return sink.flush();
}

export default sink;
