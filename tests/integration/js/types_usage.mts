// Compiled by tsc --strict in tests/integration/test_js_sdk.py: the SDK's types cover real use.
import { createLogger, traceIdFrom, tracedFetch, traceHeaders, newTraceId, LEVELS, type Logger, type FlushResult, type DropReason } from "./tracesink.mjs";
const log: Logger = createLogger({ endpoint: "http://x", system: "worker", traceId: traceIdFrom(new Request("http://a")) });
log.info("hi", { a: 1 }); log.error(new Error("x"));
const r: Promise<FlushResult> = log.flush();
void r.then((done) => { const limited: number = done.droppedBy.rate_limited; const why: DropReason = "queue_full"; void limited; void why; });
const f = tracedFetch(newTraceId()); void f("http://a", { method: "POST" });
const h: Record<string, string> = traceHeaders("abc"); void h; void r; void LEVELS;
const child: Logger = log.withTrace("other"); void child.fetch("http://b");
