// Scenarios for the JS SDK, run under real Node by tests/integration/test_js_sdk.py:
//   node sdk_scenarios.mjs SDK_PATH SCENARIO URL
// Prints one JSON line with what happened; exits non-zero only if the SDK threw or rejected.
const [sdkPath, scenario, url] = process.argv.slice(2);
const sdk = await import(sdkPath);

let unhandled = 0;
process.on("unhandledRejection", () => {
  unhandled += 1;
});

function countingFetch(calls) {
  return (input, init) => {
    calls.push(JSON.parse(init.body).length);
    return fetch(input, init);
  };
}

const scenarios = {
  async batching() {
    const calls = [];
    const log = sdk.createLogger({
      endpoint: url, system: "convex", traceId: "js-batch", batchSize: 5, flushIntervalMs: 0,
      fetch: countingFetch(calls),
    });
    for (let i = 0; i < 12; i += 1) log.info(`entry ${i}`, { i });
    const flushed = await log.flush();
    return { calls, flushed };
  },

  async timer() {
    const log = sdk.createLogger({ endpoint: url, traceId: "js-timer", flushIntervalMs: 50 });
    log.warn("sent by the timer");
    await new Promise((resolve) => setTimeout(resolve, 400));
    return { pending: (await log.flush()).pending };
  },

  // The three clients' shared scenario: tests/support/client_policy.py.
  async policy() {
    const traceId = "js-policy";
    const log = sdk.createLogger({ endpoint: url, traceId, flushIntervalMs: 0 });
    const counts = (r) => ({ sent: r.sent, dropped: r.droppedBy });
    for (let i = 0; i < 5; i += 1) log.info(`fill ${i}`);
    const first = counts(await log.flush());
    for (let i = 0; i < 2; i += 1) log.info(`refused ${i}`);
    const second = counts(await log.flush());
    log.info("after");
    const held = (await log.flush()).pending === 1;
    const trace = await (await fetch(`${url}/logs/${traceId}`)).json();
    const storedWhileHeld = trace.entries.filter((e) => !e.kind).map((e) => e.message);
    const deadline = Date.now() + Number(process.env.DELIVERY_TIMEOUT_MS);
    let final = await log.flush();
    while (final.pending > 0 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      final = await log.flush();
    }
    return { first, second, held, storedWhileHeld, final: counts(final) };
  },

  // A 429 with each Retry-After in turn (url is a server that answers so); the pause each set.
  async retryAfter() {
    const pauses = [];
    for (let i = 0; i < 4; i += 1) {
      const log = sdk.createLogger({ endpoint: url, flushIntervalMs: 0, maxPauseMs: 30_000 });
      log.info("refused");
      const before = Date.now();
      const done = await log.flush();
      pauses.push({ ms: done.pausedUntil - before, dropped: done.droppedBy.rate_limited });
    }
    return { pauses };
  },

  async queueFull() {
    const log = sdk.createLogger({ endpoint: url, traceId: "js-full", maxQueue: 2, flushIntervalMs: 0 });
    for (let i = 0; i < 4; i += 1) log.info(`kept or not ${i}`);
    return { flushed: await log.flush() };
  },

  async dead() {
    const errors = [];
    const started = Date.now();
    const log = sdk.createLogger({
      endpoint: url, traceId: "js-dead", maxRetries: 1, timeoutMs: 1000, flushIntervalMs: 0,
      onError: (error) => errors.push(String(error)),
    });
    for (let i = 0; i < 3; i += 1) log.error(new Error(`nobody hears ${i}`));
    const flushed = await log.flush();
    return { flushed, errors: errors.length, ms: Date.now() - started };
  },

  async propagation() {
    const incoming = new Request("http://app.example/", {
      headers: { traceparent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01" },
    });
    const traceId = sdk.traceIdFrom(incoming);
    const post = (headers, message) =>
      fetch(`${url}/log`, {
        method: "POST", headers: { "content-type": "application/json", ...headers },
        body: JSON.stringify({ message }),
      });
    const viaFetch = await sdk.tracedFetch("js-prop")(`${url}/log`, {
      method: "POST", headers: { "content-type": "application/json" },
      body: JSON.stringify({ message: "carried by X-Trace-Id" }),
    });
    const { traceparent } = sdk.traceHeaders(traceId);
    const viaParent = await post({ traceparent }, "carried by traceparent");
    return {
      traceId,
      fromHeaders: sdk.traceIdFrom({ "X-Trace-Id": "plain-object" }),
      fromNothing: sdk.traceIdFrom(undefined) ?? null,
      fromBad: sdk.traceIdFrom(new Headers({ "x-trace-id": "bad id" })) ?? null,
      statuses: [viaFetch.status, viaParent.status],
      traceparent,
    };
  },

  async errorStacks() {
    const log = sdk.createLogger({ endpoint: url, traceId: "js-stacks", flushIntervalMs: 0 });
    const declined = new RangeError("card declined");
    log.error("charge failed", declined);
    log.error("charge failed again", { err: new TypeError("no card"), attempt: 2 });
    log.error(new Error("the error itself"), { cause: declined });
    log.info("no error here", { attempt: 3 });
    return { flushed: (await log.flush()).sent };
  },

  async hostile() {
    const circular = { name: "loop" };
    circular.self = circular;
    const log = sdk.createLogger({ endpoint: url, traceId: "js-hostile", flushIntervalMs: 0 });
    log.info(circular);
    log.info("circular context", circular);
    log.info("bigint context", { n: 10n });
    log.info(undefined);
    log.error(new TypeError("typed"), [1, 2]);
    const odd = sdk.createLogger({ endpoint: 42, traceId: "not valid!" });
    odd.info("to nowhere");
    const weird = sdk.createLogger({ endpoint: url, fetch: () => { throw new Error("boom"); } });
    weird.info("fetch throws synchronously");
    const results = [await log.flush(), await weird.flush()];
    return { results, generated: /^[0-9a-f]{32}$/.test(odd.traceId) };
  },

  // This process's clock runs SKEW_MS ahead (negative: behind) of the service's: the SDK's
  // timestamps and its X-Client-Clock both come from it.
  async skewedClock() {
    const skew = Number(process.env.SKEW_MS);
    const realNow = Date.now;
    Date.now = () => realNow() + skew;
    const log = sdk.createLogger({ endpoint: url, traceId: `js-skew${skew}`, flushIntervalMs: 0 });
    log.info("stamped by a skewed clock");
    const flushed = await log.flush();
    Date.now = realNow;
    return { sent: flushed.sent };
  },
};

const result = await scenarios[scenario]();
console.log(JSON.stringify({ ...result, unhandled }));
