import { env } from "cloudflare:workers";
import * as fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { limitsFrom } from "../../src/config";
import type { SearchPage } from "../../src/protocol/responses";
import { type ApiResult, type TestUser, registerUser, sendMessage, startConversation } from "../helpers/api";
import { expectApiError, Figures, safe, show } from "../helpers/checks";
import { call } from "../helpers/call";
import { NASTY_STRINGS, hostileParam, hostileString } from "../helpers/hostile";
import { drainOutbox } from "../helpers/rooms";
import { search } from "../helpers/search";

/**
 * A search box is user input: FTS5 syntax, quotes, huge and empty text, emoji, broken Unicode,
 * hostile cursors and limits. Each answers 200 (and finds only the caller's messages) or a 422 in
 * API.md's shape; never a 500.
 */

const figures = new Figures("search/hostile");
const limits = limitsFrom(env);

let ann: TestUser;
let mine: Set<string>;

/** Ann's conversation holds FTS5-looking text; Bob and Cat's holds it too and must stay unseen. */
beforeAll(async () => {
  ann = await registerUser("Ann", "Hostile");
  const bob = await registerUser("Bob", "Hostile");
  const cat = await registerUser("Cat", "Hostile");
  const text = [
    'she said "NEAR(this, that)" OR not',
    "a * star and AND OR NOT words",
    "emoji 😀 party 👩‍👩‍👧‍👦 and café",
    "column:filter {body} ^start -minus (paren)",
  ];
  const own = (await startConversation(ann.token, [bob.user.id])).conversation;
  const theirs = (await startConversation(bob.token, [cat.user.id])).conversation;
  for (const body of text) {
    await sendMessage(ann.token, own.id, body);
    await sendMessage(bob.token, theirs.id, body);
  }
  await drainOutbox(own.id, text.length);
  await drainOutbox(theirs.id, text.length);
  mine = new Set([own.id]);
});

afterAll(() => figures.print());

/** 200 with only Ann's conversation in it, or a 4xx of API.md's shape: never a 500. */
function expectSafe(res: ApiResult<SearchPage>, context: string): "ok" | "refused" {
  figures.add("hostile inputs tried");
  if (res.status === 200) {
    for (const r of res.body.results) expect(mine.has(r.conversation.id), safe(context)).toBe(true);
    return "ok";
  }
  expect(res.status, `${safe(context)}: ${show(res.text)}`).toBe(422);
  expectApiError(res, context, 422);
  return "refused";
}

describe("hostile search queries", () => {
  it("answers the classic ones with 200 or a clear 422", async () => {
    const cases: [string, "ok" | "refused"][] = [
      ['"', "ok"],
      ['""', "ok"],
      ["*", "ok"],
      ["NEAR(", "ok"],
      ["NEAR(this that)", "ok"],
      ["OR OR", "ok"],
      ["AND", "ok"],
      ["NOT near", "ok"],
      ["-minus", "ok"],
      ["column:filter", "ok"],
      ["{body} : x", "ok"],
      ["^start", "ok"],
      ["(paren", "ok"],
      ["😀", "ok"],
      ["👩‍👩‍👧‍👦", "ok"],
      ["a".repeat(10_000), "refused"],
      ["x ".repeat(5_000), "refused"],
      ["", "refused"],
      ["   ", "refused"],
      ["\u0000", "refused"],
      // A URL cannot carry a lone surrogate: the client's encoder sends U+FFFD instead.
      ["lone \ud83d", "ok"],
    ];
    for (const [q, expected] of cases) {
      const res = await search(ann.token, { q });
      expect(expectSafe(res, `q=${JSON.stringify(q.slice(0, 40))}`), safe(q.slice(0, 40))).toBe(expected);
    }
    const missing = await search(ann.token, {});
    expect(expectSafe(missing, "no q")).toBe("refused");
    // Percent-escapes that are not UTF-8 (a surrogate's bytes, a stray byte), as a raw client sends them.
    for (const raw of ["%ED%A0%BD", "%FF", "%", "%E2%82", "a%00b"]) {
      const res = await call<SearchPage>("GET", `/api/search?q=${raw}`, { token: ann.token });
      expectSafe(res, `raw q=${raw}`);
    }
  });

  it("finds what the syntax characters surround, as plain words", async () => {
    const bodies = async (q: string) =>
      (await search(ann.token, { q })).body.results.map((r) => r.message.body);
    expect(await bodies('"NEAR(this, that)"')).toEqual(['she said "NEAR(this, that)" OR not']);
    expect(await bodies("OR OR")).toEqual([
      "a * star and AND OR NOT words",
      'she said "NEAR(this, that)" OR not',
    ]);
    expect(await bodies("star * AND")).toEqual(["a * star and AND OR NOT words"]);
    expect(await bodies("{body}")).toEqual(["column:filter {body} ^start -minus (paren)"]);
    // Emoji are not words to the index: a query of emoji alone finds nothing (200), and words beside them still count.
    expect(await bodies("😀")).toEqual([]);
    expect(await bodies("😀 party")).toEqual(["emoji 😀 party 👩‍👩‍👧‍👦 and café"]);
    // Up to the length limit is fine.
    expect((await search(ann.token, { q: "word ".repeat(limits.messageSearchMaxChars / 5) })).status).toBe(
      200,
    );
  });

  it("refuses a cursor it did not give out and limits out of range, with 422", async () => {
    for (const cursor of [
      "x",
      "e30",
      btoa("[1,2]"),
      btoa('{"SHARD_A":-1}'),
      btoa('{"SHARD_A":1.5}'),
      "%%%",
    ]) {
      expect(expectSafe(await search(ann.token, { q: "words", cursor }), `cursor ${cursor}`)).toBe("refused");
    }
    for (const limit of ["0", "-1", "1.5", String(limits.messageSearchPageMax + 1), "NaN", "1e9"]) {
      expect(expectSafe(await search(ann.token, { q: "words", limit }), `limit ${limit}`)).toBe("refused");
    }
  });

  it("never answers 500 to any text, cursor or conversation id, and never shows another conversation", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(hostileString, fc.constantFrom(...NASTY_STRINGS)),
        fc.option(hostileParam, { nil: undefined }),
        fc.option(hostileParam, { nil: undefined }),
        async (q, cursor, conversationId) => {
          const params: Record<string, string> = { q };
          if (cursor !== undefined) params.cursor = cursor;
          if (conversationId !== undefined) params.conversationId = conversationId;
          const res = await search(ann.token, params);
          if (res.status === 404) {
            // A conversation id that is not one of Ann's.
            expect(conversationId, show(res.text)).toBeDefined();
            expectApiError(res, `q=${JSON.stringify(q)}`, 404);
            figures.add("hostile inputs tried");
            return;
          }
          expectSafe(res, `q=${JSON.stringify(q)} cursor=${JSON.stringify(cursor)}`);
        },
      ),
      { numRuns: 150 },
    );
  });
});
