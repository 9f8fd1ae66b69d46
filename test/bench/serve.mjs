// The benchmark's server process for --server miniflare and --server start-worker (server.mjs spawns
// it, so the load generator and the server never share a Node process). Argument: one JSON spec
// {mode, port, directPort?, persist, bundle, vars, controlPort?}. Stops on SIGTERM/SIGINT, or by itself after 30
// minutes.
//
// With `controlPort` (miniflare mode; the search scenario) it also listens there, on 127.0.0.1, for
// POST /d1 {binding, statements: [{sql, params}]}: one batch on that D1 binding of the running
// product, through Miniflare's own D1 (so the product's open database sees every row), to seed a
// large history without sending it message by message.
//
// In miniflare mode the product gets METRICS, a stand-in for an Analytics Engine dataset: a service
// binding to metrics-sink.mjs, which counts the data points the product writes (metrics.mjs reads
// them). Without instrumentation in the product the sink stays empty and the report says "n/a".

import { writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { ROOT } from "./proc.mjs";

const spec = JSON.parse(process.argv[2] ?? "{}");
const require = createRequire(join(ROOT, "package.json"));
const wrangler = await import("wrangler");

let stop = async () => {};
/** The Miniflare instance (miniflare mode): what the control channel writes D1 through. */
let miniflare = null;

if (spec.mode === "miniflare") {
  // Wrangler's own Miniflare, so the workerd binary is the one `wrangler dev` runs.
  const { Miniflare, convertV4MiniflareOptions } = createRequire(require.resolve("wrangler/package.json"))(
    "miniflare",
  );
  const { workerOptions } = wrangler.unstable_getMiniflareWorkerOptions(join(ROOT, "wrangler.toml"));
  // The bundle is one ES module: its module rules (for unbundled sources) do not apply.
  delete workerOptions.modulesRules;
  // The bench asks for no page: without the static assets' router in front (Miniflare's own worker,
  // with its own compatibility flags), the direct socket below reaches the Worker itself.
  delete workerOptions.assets;
  // Locally an Analytics Engine dataset drops every point; the bench counts them instead.
  if (workerOptions.analyticsEngineDatasets) delete workerOptions.analyticsEngineDatasets.METRICS;
  const mf = new Miniflare(
    convertV4MiniflareOptions({
      host: "127.0.0.1",
      port: spec.port,
      resourcePersistencePath: join(spec.persist, "v3"),
      cf: false,
      // --cpu-profile: workerd's own inspector (V8 CPU profiles of the Worker's isolate).
      inspectorPort: spec.inspectorPort ?? undefined,
      logRequests: false,
      telemetry: { enabled: false },
      workers: [
        {
          ...workerOptions,
          name: "edge-chat",
          rootPath: ROOT,
          modules: true,
          modulesRoot: spec.bundle,
          scriptPath: join(spec.bundle, "index.js"),
          // The load reaches the Worker on its own socket, as a deployed Worker is reached: Miniflare's
          // entry worker (which routes and proxies every request, and negotiates WebSocket compression
          // with the client whatever the Worker's compatibility flags say) is not in front of it.
          unsafeDirectSockets: spec.directPort ? [{ host: "127.0.0.1", port: spec.directPort }] : undefined,
          bindings: { ...workerOptions.bindings, ...spec.vars },
          serviceBindings: {
            ...workerOptions.serviceBindings,
            METRICS: { name: "bench-metrics", entrypoint: "Sink" },
          },
        },
        {
          name: "bench-metrics",
          modules: true,
          scriptPath: fileURLToPath(new URL("./metrics-sink.mjs", import.meta.url)),
          compatibilityDate: workerOptions.compatibilityDate,
          // Reachable on the product's port at a path the product never serves.
          routes: ["*/__bench/metrics"],
        },
      ],
    }),
  );
  await mf.ready;
  miniflare = mf;
  stop = () => mf.dispose();
} else if (spec.mode === "start-worker") {
  // Vars reach startWorker like a .dev.vars file (they override [vars], as in `wrangler dev`).
  const envFile = join(spec.persist, "bench.env");
  writeFileSync(
    envFile,
    Object.entries(spec.vars)
      .map(([k, v]) => `${k}=${v}\n`)
      .join(""),
  );
  const worker = await wrangler.unstable_startWorker({
    config: join(ROOT, "wrangler.toml"),
    envFiles: [envFile],
    dev: {
      server: { hostname: "127.0.0.1", port: spec.port },
      inspector: false,
      persist: spec.persist,
      watch: false,
      logLevel: "warn",
    },
  });
  await worker.ready;
  stop = () => worker.dispose();
} else {
  throw new Error(`serve.mjs: unknown mode ${spec.mode}`);
}

if (spec.controlPort) {
  if (!miniflare) throw new Error("serve.mjs: the control channel needs --server miniflare");
  const { createServer } = await import("node:http");
  createServer(async (req, res) => {
    try {
      if (req.method !== "POST" || req.url !== "/d1") {
        res.writeHead(404).end();
        return;
      }
      let text = "";
      for await (const chunk of req) text += chunk;
      const { binding, statements } = JSON.parse(text);
      const db = await miniflare.getD1Database(binding);
      const results = await db.batch(statements.map((s) => db.prepare(s.sql).bind(...(s.params ?? []))));
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify(results.map((r) => ({ meta: r.meta, results: r.results }))));
    } catch (err) {
      res.writeHead(500, { "content-type": "text/plain" });
      res.end(String(err?.stack ?? err));
    }
  }).listen(spec.controlPort, "127.0.0.1");
}

let stopping = false;
async function shutdown(code) {
  if (stopping) return;
  stopping = true;
  try {
    await Promise.race([stop(), new Promise((r) => setTimeout(r, 5000))]);
  } finally {
    process.exit(code);
  }
}
process.on("SIGTERM", () => void shutdown(0));
process.on("SIGINT", () => void shutdown(0));
// The runner kills this process when it is done; this is the backstop if the runner died.
setTimeout(() => void shutdown(3), 30 * 60_000).unref();
const parent = process.ppid;
setInterval(() => {
  if (process.ppid !== parent) void shutdown(3);
}, 1000).unref();
console.log(`serving on 127.0.0.1:${spec.port}`);
