import { defineConfig } from "drizzle-kit";

// One schema per database role, each with its own migrations folder (wrangler.toml gives every D1
// binding its role's `migrations_dir`). `npm run db:generate` runs drizzle-kit once per role:
//   directory (DB):                  src/db/schema.ts          → migrations/
//   history shards (HISTORY_SHARDS): src/db/history-schema.ts  → migrations/history/
// drizzle-kit 0.31.x writes flat `NNNN_name.sql` files, the layout `wrangler d1 migrations` reads.
declare const process: { env: Record<string, string | undefined> };
const role = process.env.DB_ROLE === "history" ? "history" : "directory";

export default defineConfig(
  role === "history"
    ? { dialect: "sqlite", schema: "./src/db/history-schema.ts", out: "./migrations/history" }
    : { dialect: "sqlite", schema: "./src/db/schema.ts", out: "./migrations" },
);
