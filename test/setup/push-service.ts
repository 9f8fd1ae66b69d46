// Global setup (Node side): a real local push service for the push tests, the `web-push-testing`
// server. It accepts subscriptions, verifies each push's VAPID signature and decrypts its payload
// (RFC 8291), and can expire a subscription so that it answers 410. Started on a free port as a
// child process and stopped by its pid; the tests inside workerd get its URL through `inject`.

import { type ChildProcess, spawn } from "node:child_process";
import { createRequire } from "node:module";
import { createServer } from "node:net";
import { dirname, join } from "node:path";
import type { TestProject } from "vitest/node";

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on("error", reject);
    server.listen(0, () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

let child: ChildProcess | null = null;

export async function setup(project: TestProject): Promise<void> {
  const require = createRequire(import.meta.url);
  const root = dirname(require.resolve("web-push-testing/package.json"));
  const port = await freePort();
  const started = spawn(process.execPath, [join(root, "src/bin/server.js"), String(port)], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  child = started;
  let output = "";
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`push service did not start:\n${output}`)), 15_000);
    started.stdout?.on("data", (data: Buffer) => {
      output += data.toString();
      if (output.includes("Server running")) {
        clearTimeout(timer);
        resolve();
      }
    });
    started.stderr?.on("data", (data: Buffer) => (output += data.toString()));
    started.on("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`push service exited (${code}):\n${output}`));
    });
  });
  // The server names its endpoints http://localhost:<port>/notify/…; the Worker may post there
  // because the test config lists localhost in PUSH_HTTP_HOSTS.
  project.provide("pushServiceUrl", `http://localhost:${port}`);
}

export async function teardown(): Promise<void> {
  if (child && child.exitCode === null) child.kill("SIGTERM");
  child = null;
}
