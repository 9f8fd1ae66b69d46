import { describe, expect, it } from "vitest";
import type { SearchResult } from "../../src/protocol/responses";
import { CONVERSATIONS_IN_INDEX } from "../../src/search/search";
import { type TestUser, registerUser, sendMessage, startConversation } from "../helpers/api";
import { shardNameOf } from "../helpers/d1";
import { drainOutbox } from "../helpers/rooms";
import { allPages, search, uniqueWord } from "../helpers/search";

/**
 * Paging through results across this project's two shards: every result exactly once, newest
 * first, whatever arrives between pages.
 */

/** A group of Ann and Bob on the shard named, made by trying new groups until one lands there. */
async function groupOn(shard: string, ann: TestUser, bob: TestUser): Promise<string> {
  for (let i = 0; i < 40; i++) {
    const { conversation } = await startConversation(ann.token, [bob.user.id], { title: `on ${shard}` });
    if ((await shardNameOf(conversation.id)) === shard) return conversation.id;
  }
  throw new Error(`no group landed on ${shard}`);
}

const ids = (results: SearchResult[]) => results.map((r) => r.message.id);

describe("search paging", () => {
  it("lists every match once, newest first, across shards, while new matches arrive between pages", async () => {
    const ann = await registerUser("Ann", "Paging");
    const bob = await registerUser("Bob", "Paging");
    const word = uniqueWord("page");
    const onA = await groupOn("SHARD_A", ann, bob);
    const onB = await groupOn("SHARD_B", ann, bob);
    const sent = [];
    for (let i = 1; i <= 23; i++)
      sent.push(await sendMessage(i % 3 ? ann.token : bob.token, i % 2 ? onA : onB, `${word} ${i}`));
    await drainOutbox(onA, 12);
    await drainOutbox(onB, 11);

    let extra = 0;
    const pages = await allPages(ann.token, { q: word, limit: 5 }, async () => {
      // New matches on both shards between pages: newer than the first page, so never listed by
      // this walk, and never pushing an older one off it.
      extra++;
      await sendMessage(bob.token, onA, `${word} late ${extra}`);
      await sendMessage(ann.token, onB, `${word} late b${extra}`);
    });
    expect(pages.map((p) => p.results.length)).toEqual([5, 5, 5, 5, 3]);
    const listed = pages.flatMap((p) => p.results);
    expect(ids(listed)).toEqual(sent.map((m) => m.id).reverse());
    expect(listed.map((r) => r.message)).toEqual([...sent].reverse());

    // A new search starts with what arrived meanwhile.
    const fresh = await search(ann.token, { q: word, limit: 2 * extra });
    expect(fresh.body.results.every((r) => r.message.body.includes(" late "))).toBe(true);
  });

  it("pages one conversation, and many conversations of one shard, the same way", async () => {
    const ann = await registerUser("Ann", "Many");
    const bob = await registerUser("Bob", "Many");
    const word = uniqueWord("many");
    // Enough groups that at least one shard holds more than the index filters by conversation.
    const groups: string[] = [];
    for (let i = 0; i < 2 * CONVERSATIONS_IN_INDEX + 6; i++) {
      const { conversation } = await startConversation(ann.token, [bob.user.id], {
        title: `g${i}`,
        body: `${word} in group ${i}`,
      });
      groups.push(conversation.id);
    }
    for (const id of groups) await drainOutbox(id, 1);
    const perShard = new Map<string, number>();
    for (const id of groups) {
      const shard = await shardNameOf(id);
      perShard.set(shard, (perShard.get(shard) ?? 0) + 1);
    }
    expect(Math.max(...perShard.values())).toBeGreaterThan(CONVERSATIONS_IN_INDEX);

    const pages = await allPages(bob.token, { q: word, limit: 7 });
    const bodies = pages.flatMap((p) => p.results.map((r) => r.message.body));
    expect(bodies).toEqual(groups.map((_, i) => `${word} in group ${i}`).reverse());

    const [first] = groups;
    for (let i = 0; i < 5; i++) await sendMessage(bob.token, first!, `${word} again ${i}`);
    await drainOutbox(first!, 6);
    const one = await allPages(ann.token, { q: word, conversationId: first!, limit: 2 });
    expect(one.map((p) => p.results.length)).toEqual([2, 2, 2]);
    expect(one.flatMap((p) => p.results.map((r) => r.message.seq))).toEqual([6, 5, 4, 3, 2, 1]);
  });
});
