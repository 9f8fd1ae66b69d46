import { app } from "./app";
import { runRetention } from "./db/retention";
import { servePage } from "./page";
import { consumeEvents } from "./webhooks/consumer";

export { UserInbox } from "./durable/inbox/user-inbox";
export { ConversationRoom } from "./durable/room/conversation-room";

export default {
  fetch(request, env, ctx) {
    // wrangler.toml routes "/" to the Worker (run_worker_first); other assets never reach it.
    const { pathname } = new URL(request.url);
    if (pathname === "/" && (request.method === "GET" || request.method === "HEAD")) {
      return servePage(request, env);
    }
    return app.fetch(request, env, ctx);
  },
  // The Cron Trigger of wrangler.toml: retention of the history shards (a no-op when RETENTION_DAYS is 0).
  async scheduled(controller, env) {
    await runRetention(env, controller.scheduledTime);
  },
  // Webhook deliveries and the dead-letter queue (wrangler.toml's queue consumers).
  queue(batch, env) {
    return consumeEvents(batch, env);
  },
} satisfies ExportedHandler<Env>;
