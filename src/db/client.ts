import { drizzle } from "drizzle-orm/d1";
import * as historySchema from "./history-schema";
import * as schema from "./schema";

export type Db = ReturnType<typeof openDb>;
export type HistoryDb = ReturnType<typeof openHistory>;

/** The directory database (binding DB). */
export function openDb(d1: D1Database) {
  return drizzle(d1, { schema });
}

/** A history shard (shards.ts names its binding). */
export function openHistory(d1: D1Database) {
  return drizzle(d1, { schema: historySchema });
}
