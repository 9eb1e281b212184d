// `npm run serve -- --port PORT [--host HOST]`: the Worker in workerd (through Miniflare, offline),
// with the store from UPSTASH_REDIS_REST_URL / UPSTASH_REDIS_REST_TOKEN and the TRACESINK_*
// limit variables of this process's environment. Runs until SIGINT or SIGTERM.

import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { Miniflare } from "miniflare";

const here = (path) => fileURLToPath(new URL(path, import.meta.url));

const { values } = parseArgs({
  options: { port: { type: "string", default: "8788" }, host: { type: "string", default: "127.0.0.1" } },
});
const port = Number(values.port);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error(`--port: expected a port number, got '${values.port}'`);
  process.exit(2);
}

const bindings = {};
for (const [name, value] of Object.entries(process.env)) {
  if (name.startsWith("TRACESINK_") || name.startsWith("UPSTASH_REDIS_REST_")) bindings[name] = value;
}

const mf = new Miniflare({
  name: "tracesink-edge",
  modules: true,
  modulesRoot: here("../"),
  scriptPath: here("../src/index.js"),
  modulesRules: [{ type: "ESModule", include: ["**/*.js"] }],
  compatibilityDate: "2026-04-01",
  bindings,
  host: values.host,
  port,
});
const url = await mf.ready;
console.log(`tracesink edge Worker (workerd) on ${url.origin}`);

let stopping = false;
for (const signal of ["SIGINT", "SIGTERM"]) {
  process.on(signal, async () => {
    if (stopping) return;
    stopping = true;
    await mf.dispose();
    process.exit(0);
  });
}
