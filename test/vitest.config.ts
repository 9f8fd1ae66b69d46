import { generateKeyPairSync } from "node:crypto";
import { createServer } from "node:net";
import { fileURLToPath } from "node:url";
import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-pool-workers";
import { defineConfig } from "vitest/config";

const root = (path: string) => fileURLToPath(new URL(path, import.meta.url));

/** A fresh VAPID key pair per run (base64url: the uncompressed public point, the private scalar). */
function vapidKeys() {
  const jwk = generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey.export({ format: "jwk" });
  const point = Buffer.concat([
    Buffer.from([4]),
    Buffer.from(jwk.x ?? "", "base64url"),
    Buffer.from(jwk.y ?? "", "base64url"),
  ]);
  return { VAPID_PUBLIC_KEY: point.toString("base64url"), VAPID_PRIVATE_KEY: jwk.d ?? "" };
}
const VAPID = vapidKeys();

/** A port nobody listens on now (the webhook receiver takes it in its global setup). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on("error", reject);
    server.listen(0, "localhost", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

// The webhook tests' receiver (setup/webhook-receiver.ts): its URL must be in WEBHOOK_URLS before
// the runtimes start, so its port is chosen here and handed to the global setup.
const WEBHOOK_PORT = await freePort();
process.env.WEBHOOK_RECEIVER_PORT = String(WEBHOOK_PORT);
/** The secret the test Worker signs webhooks with (test/webhooks/ verifies with it). */
const WEBHOOK_SECRET = "test-webhook-secret-0123456789abcdefghij";

/** Settings that keep the suite quick and out of the way of what a test does not look at. */
const RELAXED = {
  INBOX_NOTIFY_WINDOW_MS: "0",
  // Read receipts, typing and presence go out on the next turn (coalescing has tests of its own).
  RECEIPT_WINDOW_MS: "0",
  OUTBOX_RETRY_MS: "50",
  INBOX_RETRY_MS: "50",
  TYPING_THROTTLE_MS: "0",
  // No burst of the fuzz tests reaches it; the per-user rate has its own tests in limits/.
  MESSAGE_RATE_PER_10S: "1000000",
  // Likewise the per-user budgets (their own tests are in limits/budgets.test.ts).
  USER_MESSAGES_PER_WINDOW: "1000000",
  USER_MESSAGE_BYTES_PER_WINDOW: "1000000000",
  USER_CONVERSATIONS_PER_HOUR: "1000000",
  USER_PROFILE_UPDATES_PER_HOUR: "1000000",
};

/** One pool of workerd runtimes running the Worker with these settings on top of wrangler.toml's. */
async function project(options: {
  name: string;
  include: string[];
  vars: Record<string, string>;
  globalSetup?: string[];
  /** Miniflare options on top of wrangler.toml's (e.g. faster queue consumers). */
  miniflare?: Record<string, unknown>;
  /**
   * One runtime runs the project's files one after another, sharing storage, instead of a fresh
   * runtime per file (about 5 s each on the 2-core test machine). Only for files that make few
   * requests: `exports.default.fetch` gets slower with every call a runtime has served (4 ms at
   * first, 70 ms after 400), so a runtime shared by the request-heavy files would starve the last.
   */
  shareRuntime?: boolean;
  /** D1 databases to bind besides wrangler.toml's (each its own local database). */
  d1?: string[];
}) {
  const { name, include, vars, globalSetup = [], shareRuntime = false, d1 = [], miniflare = {} } = options;
  return {
    plugins: [
      cloudflareTest(async () => ({
        main: root("../src/index.ts"),
        wrangler: { configPath: root("../wrangler.toml") },
        miniflare: {
          ...miniflare,
          d1Databases: ["MIGRATION_TEST_DB", ...d1],
          bindings: {
            TEST_MIGRATIONS: await readD1Migrations(root("../migrations")),
            TEST_HISTORY_MIGRATIONS: await readD1Migrations(root("../migrations/history")),
            JWT_SECRET: "test-secret-that-is-long-enough-0123456789",
            SERVER_API_KEYS: "test-server-key-0123456789abcdefghijklmnop",
            // An identity provider whose JWKS the tests serve themselves (test/helpers/idp.ts); a
            // token naming an unknown kid refetches it at once.
            EXTERNAL_JWKS_URL: "https://idp.test/.well-known/jwks.json",
            EXTERNAL_JWT_ISSUER: "https://idp.test/",
            EXTERNAL_JWT_AUDIENCE: "edge-chat-tests",
            EXTERNAL_JWKS_COOLDOWN_SECONDS: "0",
            // Fast PBKDF2 keeps the suite quick; the code path is the same.
            PBKDF2_ITERATIONS: "1000",
            // Web Push against the local push service of setup/push-service.ts (plain http, localhost).
            ...VAPID,
            VAPID_SUBJECT: "mailto:tests@example.com",
            PUSH_HTTP_HOSTS: "localhost",
            PUSH_TIMEOUT_MS: "5000",
            WEBHOOK_SECRET,
            // Property tests draw fresh inputs on every local run; CI replays one fixed seed so a
            // submission's result is reproducible (FUZZ_SEED=<n> replays any run; "random" forces fresh).
            FUZZ_SEED: process.env.FUZZ_SEED ?? (process.env.CI ? "20261122" : "random"),
            ...vars,
          },
        },
      })),
    ],
    test: {
      name,
      root: root("."),
      include,
      setupFiles: ["./setup/apply-migrations.ts"],
      globalSetup,
      isolate: !shareRuntime,
      testTimeout: 30_000,
      hookTimeout: 30_000,
    },
  };
}

export default defineConfig({
  test: {
    projects: [
      // The room's modules and other units: few requests, so they share one runtime.
      await project({ name: "unit", include: ["unit/**/*.test.ts"], vars: RELAXED, shareRuntime: true }),
      // Every subsystem through the Worker, a fresh runtime per file.
      await project({
        name: "workers",
        include: [
          "auth/**/*.test.ts",
          "users/**/*.test.ts",
          "http/**/*.test.ts",
          "server/**/*.test.ts",
          "conversations/**/*.test.ts",
          "attachments/**/*.test.ts",
          "room/**/*.test.ts",
          "inbox/**/*.test.ts",
          "durability/**/*.test.ts",
          "client/**/*.test.ts",
        ],
        vars: RELAXED,
        globalSetup: ["./setup/push-service.ts"],
      }),
      // History sharded over two databases besides the directory (SHARD_A, SHARD_B), rooms keeping
      // a tail of 5 messages (older history read from the shard), small D1 batches.
      await project({
        name: "shards",
        include: ["shards/**/*.test.ts"],
        vars: {
          ...RELAXED,
          HISTORY_SHARDS: "SHARD_A,SHARD_B",
          ROOM_LOG_TAIL: "5",
          D1_BATCH_MAX_BYTES: "65536",
          RETENTION_DAYS: "30",
          RETENTION_ARCHIVE: "on",
          RETENTION_BATCH_ROWS: "7",
          // An account's deletion in many small steps (shards/account-deletion.test.ts), and retried
          // only when the test runs the inbox's alarm.
          ACCOUNT_ERASE_ROOMS_PER_STEP: "2",
          ACCOUNT_ERASE_MESSAGES_PER_ROOM: "3",
          ACCOUNT_ERASE_RETRY_MS: "3600000",
        },
        d1: ["SHARD_A", "SHARD_B"],
      }),
      // Message search over two history shards besides the directory (results merged across them),
      // with retention on (its deletes leave the index too).
      await project({
        name: "search",
        include: ["search/**/*.test.ts"],
        vars: {
          ...RELAXED,
          HISTORY_SHARDS: "SHARD_A,SHARD_B",
          RETENTION_DAYS: "30",
        },
        d1: ["SHARD_A", "SHARD_B"],
      }),
      // Webhooks through the local queue to a real HTTP receiver: every room of this project records
      // events, so only the files that look at them run here.
      await project({
        name: "webhooks",
        include: ["webhooks/**/*.test.ts"],
        vars: {
          ...RELAXED,
          WEBHOOK_URLS: `http://localhost:${WEBHOOK_PORT}/hooks/a,http://localhost:${WEBHOOK_PORT}/hooks/b`,
          WEBHOOK_TIMEOUT_MS: "5000",
          // Retries after 1 s, then 2 s (the cap), so a test sees them within seconds.
          WEBHOOK_RETRY_BASE_SECONDS: "1",
          WEBHOOK_RETRY_MAX_SECONDS: "2",
        },
        globalSetup: ["./setup/webhook-receiver.ts"],
        miniflare: {
          // wrangler.toml's consumers with a short batch timeout and fewer retries (then the
          // dead-letter queue), replacing its entries whole.
          queueConsumers: {
            "edge-chat-events": {
              maxBatchSize: 10,
              maxBatchTimeout: 0.05,
              maxRetries: 3,
              deadLetterQueue: "edge-chat-events-dlq",
            },
            "edge-chat-events-dlq": { maxBatchSize: 10, maxBatchTimeout: 0.05, maxRetries: 3 },
          },
        },
      }),
      // The room's limits, each set small enough to be reached through the public API.
      await project({
        name: "limits",
        include: ["limits/**/*.test.ts"],
        vars: {
          MESSAGE_RATE_PER_10S: "4",
          // Buckets that refill slowly enough not to move while a test runs.
          MESSAGE_RATE_WINDOW_SECONDS: "3600",
          USER_MESSAGES_PER_WINDOW: "6",
          USER_MESSAGE_BYTES_PER_WINDOW: "10000",
          USER_MESSAGE_WINDOW_SECONDS: "3600",
          USER_CONVERSATIONS_PER_HOUR: "3",
          USER_UPLOAD_BYTES_PER_HOUR: "1000",
          USER_PROFILE_UPDATES_PER_HOUR: "3",
          // A profile change walks the user's rooms two per run of their inbox's alarm.
          PROFILE_SYNC_BATCH: "2",
          ROOM_SOCKETS_PER_USER: "2",
          REPLAY_MAX_BYTES: "5000",
          BUDGET_LEASE_MESSAGES: "2",
          TYPING_THROTTLE_MS: "60000",
          MAX_GROUP_SIZE: "3",
          PRESENCE_MAX_MEMBERS: "1",
          INBOX_NOTIFY_WINDOW_MS: "3600000",
          OUTBOX_RETRY_MS: "50",
          INBOX_RETRY_MS: "50",
          // A window long enough that frames sent together surely fall into one.
          RECEIPT_WINDOW_MS: "1000",
          // Attachments: files of 512 bytes (under the 1000-byte upload budget above), two per
          // message, an upload never sent is due at once.
          ATTACHMENT_MAX_BYTES: "512",
          ATTACHMENTS_PER_MESSAGE: "2",
          ATTACHMENT_UNATTACHED_TTL_SECONDS: "0",
        },
        shareRuntime: true,
      }),
    ],
  },
});
