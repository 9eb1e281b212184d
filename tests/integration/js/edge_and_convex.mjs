// A stand-in for a Cloudflare Worker and a Convex action, both written with the SDK, served
// over real HTTP for tests/integration/test_sources.py:
//   node edge_and_convex.mjs SDK_URL TRACESINK_URL   → prints the port it listens on
// POST /charge: the Worker. Cloudflare adds CF-Worker to a Worker's subrequests; the fetch
//   given to the logger does that here, and no system is named (detection says "worker").
// POST /save-order: the Convex action, logging with the SDK as system "convex" (the bridge
//   the original plan called internalLogging).
import { createServer } from "node:http";

const [sdkUrl, sink] = process.argv.slice(2);
const { createLogger, traceIdFrom } = await import(sdkUrl);

const viaCloudflare = (input, init) =>
  fetch(input, { ...init, headers: { ...init.headers, "CF-Worker": "shop.example.com" } });

const routes = {
  async "/charge"(request) {
    const log = createLogger({ endpoint: sink, traceId: traceIdFrom(request), fetch: viaCloudflare });
    log.info("worker: charging card", { amount: 4200 });
    await log.flush(); // a Worker would hand this to ctx.waitUntil
    return { traceId: log.traceId };
  },
  async "/save-order"(request) {
    const log = createLogger({ endpoint: sink, system: "convex", traceId: traceIdFrom(request) });
    log.info("convex: order saved");
    await log.flush();
    return { traceId: log.traceId };
  },
};

const server = createServer(async (req, res) => {
  const request = new Request(`http://localhost${req.url}`, { method: req.method, headers: req.headers });
  const route = routes[req.url];
  const body = route ? await route(request) : { error: "no route" };
  res.writeHead(route ? 200 : 404, { "content-type": "application/json" });
  res.end(JSON.stringify(body));
});
server.listen(0, "127.0.0.1", () => console.log(server.address().port));
