// Global setup (Node side): a real HTTP receiver for the webhook tests, the host application's
// endpoint as the Worker's queue consumer reaches it. It records every request as it arrived (raw
// body and signature header, for the tests to verify) and can be told to fail: the next N requests
// about one conversation are answered 500. Its port is chosen by test/vitest.config.ts (the Worker's
// WEBHOOK_URLS must name it before any runtime starts) and handed over in WEBHOOK_RECEIVER_PORT.
//
//   POST /hooks/<name>   an endpoint: recorded, then 204 (or 500 while a failure is pending)
//   GET  /_requests      every recorded request: [{endpoint, signature, body, status}]
//   POST /_fail          {conversationId, times}: fail the next `times` requests about it

import { type Server, createServer } from "node:http";
import type { TestProject } from "vitest/node";

interface Recorded {
  endpoint: string;
  signature: string | null;
  body: string;
  status: number;
}

/** The conversation an event is about, wherever its data keeps the id. */
function conversationOf(body: string): string | null {
  try {
    const data = (JSON.parse(body) as { data?: Record<string, any> }).data ?? {};
    return data.message?.conversationId ?? data.conversation?.id ?? data.conversationId ?? null;
  } catch {
    return null;
  }
}

let server: Server | null = null;

export async function setup(project: TestProject): Promise<void> {
  const port = Number(process.env.WEBHOOK_RECEIVER_PORT);
  if (!Number.isInteger(port) || port <= 0) throw new Error("WEBHOOK_RECEIVER_PORT is not set");
  const recorded: Recorded[] = [];
  const failures = new Map<string, number>();
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const body = Buffer.concat(chunks).toString("utf8");
      const path = req.url ?? "";
      if (req.method === "GET" && path === "/_requests") {
        res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(recorded));
        return;
      }
      if (req.method === "POST" && path === "/_fail") {
        const { conversationId, times } = JSON.parse(body) as { conversationId: string; times: number };
        failures.set(conversationId, times);
        res.writeHead(204).end();
        return;
      }
      if (req.method === "POST" && path.startsWith("/hooks/")) {
        const conversationId = conversationOf(body);
        const pending = conversationId === null ? 0 : (failures.get(conversationId) ?? 0);
        const status = pending > 0 ? 500 : 204;
        if (pending > 0 && conversationId !== null) failures.set(conversationId, pending - 1);
        const signature = req.headers["x-chat-signature"];
        recorded.push({
          endpoint: path.slice("/hooks/".length),
          signature: typeof signature === "string" ? signature : null,
          body,
          status,
        });
        res.writeHead(status).end();
        return;
      }
      res.writeHead(404).end();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server?.once("error", reject);
    server?.listen(port, "localhost", () => resolve());
  });
  project.provide("webhookReceiverUrl", `http://localhost:${port}`);
}

export async function teardown(): Promise<void> {
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  server = null;
}
