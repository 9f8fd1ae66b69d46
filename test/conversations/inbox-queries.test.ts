import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { openDb } from "../../src/db/client";
import { listInbox } from "../../src/db/conversations";
import { shardAccess } from "../../src/db/shards";
import { registerUser, sendMessage, startConversation } from "../helpers/api";

/** A directory binding that counts the statements prepared through it (each query prepares one). */
function countingD1(real: D1Database): { db: D1Database; count: () => number } {
  let prepared = 0;
  const db = new Proxy(real, {
    get(target, prop) {
      if (prop === "prepare") {
        return (query: string) => {
          prepared++;
          return target.prepare(query);
        };
      }
      const value = Reflect.get(target, prop);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
  return { db, count: () => prepared };
}

async function inboxQueryCount(userId: string, limit: number): Promise<{ queries: number; size: number }> {
  const { db, count } = countingD1(env.DB);
  const page = await listInbox(openDb(db), shardAccess(env), userId, limit, null);
  return { queries: count(), size: page.conversations.length };
}

describe("inbox listing", () => {
  it("uses the same number of D1 queries for a page of 2 and a page of 25", async () => {
    const me = await registerUser();
    const others = [];
    for (let i = 0; i < 25; i++) others.push(await registerUser(`Peer${i}`));
    for (const [i, o] of others.entries()) {
      const { conversation } = await startConversation(me.token, [o.user.id]);
      if (i % 2 === 0) await sendMessage(o.token, conversation.id, `hello ${i}`);
    }
    const small = await inboxQueryCount(me.user.id, 2);
    const large = await inboxQueryCount(me.user.id, 25);
    expect(small.size).toBe(2);
    expect(large.size).toBe(25);
    expect(large.queries).toBe(small.queries);
    expect(large.queries).toBeLessThanOrEqual(3);
  });
});
