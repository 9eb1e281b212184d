// Type-checked by tests/e2e/test_client_types.py with tsc --strict: what a bundling app writes.
import TraceSink, { flush, getTraceId, init, type TraceSinkEntry } from "../../src/tracesink/static/client.mjs";

const client = init({
  endpoint: "http://localhost:8787",
  key: "pk_web",
  propagate: ["https://api.example.com"],
  traceparent: true,
  release: "shop@1.4.0",
  levels: ["warn", "error"],
  ignore: [/^\[HMR\]/, "noise"],
  beforeSend(entry: TraceSinkEntry) {
    const release: string | undefined = entry.release;
    void release;
    return entry.message.includes("card") ? null : { ...entry, message: entry.message.trim() };
  },
});
const id: string | null = client.traceId ?? getTraceId();
const same: string | null = TraceSink.traceId;
const global: string | null = globalThis.TraceSink.traceId;
void flush().then(() => client.stats());
export const ids = [id, same, global];

// @ts-expect-error: a level the client does not know
init({ levels: ["verbose"] });
// @ts-expect-error: traceId is read-only
client.traceId = "x";

// The counts by reason, the same reasons as every tracesink client's
const stats = init({ maxPause: 30_000 }).stats();
const limited: number | undefined = "droppedBy" in stats ? stats.droppedBy.rate_limited : undefined;
export const counted = [limited];
// @ts-expect-error: a reason no client uses
void ("droppedBy" in stats ? stats.droppedBy["queue full"] : 0);
// @ts-expect-error: a release is a string
init({ release: 140 });
