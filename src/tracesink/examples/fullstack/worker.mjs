// The example's worker: a fetch-style handler, as a Cloudflare Worker or a queue consumer would
// have, served by Node. It logs with tracesink's JS SDK under the trace id of the request that
// called it (X-Trace-Id or traceparent), so its entries join the page's and the backend's.
import { createServer } from "node:http";

const sink = process.env.FULLSTACK_SINK ?? "http://127.0.0.1:8787";
const port = Number(process.env.FULLSTACK_WORKER_PORT ?? 8789);

// A real Worker bundles a copy of sdk.mjs; this example loads the one the running tracesink
// serves, so that it always matches the server.
const source = await (await fetch(`${sink}/sdk.mjs`)).text();
const { createLogger, traceIdFrom } = await import(
  `data:text/javascript,${encodeURIComponent(source)}`
);

async function handle(request) {
  const log = createLogger({ endpoint: sink, system: "worker", traceId: traceIdFrom(request) });
  const order = await request.json();
  log.info("worker: charging the card", { amount: order.amount });
  const receipt = `r-${Date.now().toString(36)}`;
  log.info("worker: card charged", { receipt });
  await log.flush(); // a Worker would hand this to ctx.waitUntil()
  return Response.json({ receipt });
}

createServer(async (req, res) => {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  const request = new Request(`http://127.0.0.1:${port}${req.url}`, {
    method: req.method,
    headers: req.headers,
    body: req.method === "POST" ? Buffer.concat(chunks) : undefined,
  });
  let response;
  try {
    response = await handle(request);
  } catch (error) {
    console.error("worker: request failed", error);
    response = Response.json({ error: String(error) }, { status: 500 });
  }
  res.writeHead(response.status, Object.fromEntries(response.headers));
  res.end(await response.text());
}).listen(port, "127.0.0.1", () => console.log(`worker listening on http://127.0.0.1:${port}`));
