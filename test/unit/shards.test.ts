import { describe, expect, it } from "vitest";
import { openShards, placeConversation, shardNames } from "../../src/db/shards";
import { newId } from "../../src/ids";

describe("history shard placement", () => {
  it("places an id on the same shard every time, and spreads ids over every shard", () => {
    const shards = ["H0", "H1", "H2"];
    const counts = new Map<string, number>();
    for (let i = 0; i < 3000; i++) {
      const id = newId("c");
      const shard = placeConversation(id, shards);
      expect(placeConversation(id, shards)).toBe(shard);
      counts.set(shard, (counts.get(shard) ?? 0) + 1);
    }
    for (const shard of shards) expect(counts.get(shard) ?? 0).toBeGreaterThan(800);
  });

  it("places new conversations on open shards only; a list with every shard closed keeps them all", () => {
    expect(openShards(["H0", "H1", "H2"], ["H1"])).toEqual(["H0", "H2"]);
    expect(openShards(["H0"], ["H0"])).toEqual(["H0"]);
    for (let i = 0; i < 200; i++) expect(placeConversation(newId("c"), ["H0", "H2"])).not.toBe("H1");
  });

  it("reads HISTORY_SHARDS as names in order, HISTORY_0 when empty", () => {
    expect(shardNames(" HISTORY_0, HISTORY_1 ,HISTORY_2")).toEqual(["HISTORY_0", "HISTORY_1", "HISTORY_2"]);
    expect(shardNames("")).toEqual(["HISTORY_0"]);
  });
});
