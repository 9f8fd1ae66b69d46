import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { registerUser, sendMessage, startConversation } from "../helpers/api";
import { call } from "../helpers/call";
import { drainOutbox } from "../helpers/rooms";
import { found, search, uniqueWord } from "../helpers/search";

describe("message search", () => {
  it("finds a word in my messages and in others' in my conversations, with the match marked", async () => {
    const ann = await registerUser("Ann", "Search");
    const bob = await registerUser("Bob", "Search");
    const cat = await registerUser("Cat", "Search");
    const word = uniqueWord("pelican");
    const direct = (await startConversation(ann.token, [bob.user.id])).conversation;
    const group = (await startConversation(bob.token, [ann.user.id, cat.user.id], { title: "Birds" }))
      .conversation;
    const mine = await sendMessage(ann.token, direct.id, `I saw a ${word} today`);
    const bobs = await sendMessage(bob.token, group.id, `The ${word} was huge!`);
    await sendMessage(cat.token, group.id, "nothing to see here");
    await drainOutbox(direct.id, 1);
    await drainOutbox(group.id, 2);

    const res = await search(ann.token, { q: word });
    expect(res.status).toBe(200);
    expect(res.body.nextCursor).toBeNull();
    expect(res.body.results).toEqual([
      {
        message: bobs,
        conversation: { id: group.id, kind: "group", title: "Birds" },
        snippet: `The [[${word}]] was huge!`,
      },
      {
        message: mine,
        conversation: { id: direct.id, kind: "direct", title: null },
        snippet: `I saw a [[${word}]] today`,
      },
    ]);
    void env;
    void call;
  });
});
