import { describe, expect, it } from "vitest";
import type { Message } from "../../src/protocol/models";
import type { HistoryPage } from "../../src/protocol/responses";
import { registerUser, sendMessage, startConversation } from "../helpers/api";
import { call } from "../helpers/call";
import { expectApiError } from "../helpers/checks";
import { refuseMessageRows } from "../helpers/d1";
import { download, sendFiles, uploaded } from "../helpers/attachments";
import { png } from "../helpers/files";
import { drainOutbox } from "../helpers/rooms";
import { found, search, uniqueWord } from "../helpers/search";
import { ofType, openSocket } from "../helpers/socket";

/**
 * `GET /api/search` over this project's two history shards (SHARD_A, SHARD_B): what a person finds,
 * and what they never find.
 */

async function threePeople() {
  const ann = await registerUser("Ann", "Search");
  const bob = await registerUser("Bob", "Search");
  const cat = await registerUser("Cat", "Search");
  return { ann, bob, cat };
}

describe("message search", () => {
  it("finds a word in my messages and in others' in my conversations, newest first, the match marked", async () => {
    const { ann, bob, cat } = await threePeople();
    const word = uniqueWord("pelican");
    const direct = (await startConversation(ann.token, [bob.user.id])).conversation;
    const group = (await startConversation(bob.token, [ann.user.id, cat.user.id], { title: "Birds" }))
      .conversation;
    const mine = await sendMessage(ann.token, direct.id, `I saw a ${word} today`);
    const bobs = await sendMessage(bob.token, group.id, `The ${word.toUpperCase()} was huge!`);
    await sendMessage(cat.token, group.id, "nothing to see here");
    await drainOutbox(direct.id, 1);
    await drainOutbox(group.id, 2);

    const res = await search(ann.token, { q: word });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      results: [
        {
          message: bobs,
          conversation: { id: group.id, kind: "group", title: "Birds" },
          snippet: `The [[${word.toUpperCase()}]] was huge!`,
        },
        {
          message: mine,
          conversation: { id: direct.id, kind: "direct", title: null },
          snippet: `I saw a [[${word}]] today`,
        },
      ],
      nextCursor: null,
    });
    // Bob finds both too (his own in the group, Ann's in their direct conversation); Cat only the group's.
    expect(await found(bob.token, word)).toEqual([bobs.body, mine.body]);
    expect(await found(cat.token, word)).toEqual([bobs.body]);
  });

  it("matches every word, in any case and accent, and the last one as a prefix", async () => {
    const { ann, bob } = await threePeople();
    const stem = uniqueWord("zeb");
    const { conversation } = await startConversation(ann.token, [bob.user.id]);
    await sendMessage(ann.token, conversation.id, `Café ${stem}ra crossing`);
    await sendMessage(bob.token, conversation.id, `${stem}ra alone`);
    await drainOutbox(conversation.id, 2);
    expect(await found(ann.token, `cafe ${stem}ra`)).toEqual([`Café ${stem}ra crossing`]);
    expect(await found(ann.token, `CAFÉ ${stem}`)).toEqual([`Café ${stem}ra crossing`]);
    expect(await found(ann.token, stem)).toEqual([`${stem}ra alone`, `Café ${stem}ra crossing`]);
    // Only the last word is a prefix.
    expect(await found(ann.token, `${stem} crossing`)).toEqual([]);
  });

  it("never finds messages of conversations I am not in", async () => {
    const { ann, bob, cat } = await threePeople();
    const word = uniqueWord("secret");
    const theirs = (await startConversation(bob.token, [cat.user.id])).conversation;
    await sendMessage(bob.token, theirs.id, `the ${word} plan`);
    await drainOutbox(theirs.id, 1);
    expect(await found(bob.token, word)).toEqual([`the ${word} plan`]);
    expect(await found(ann.token, word)).toEqual([]);
    // Naming their conversation is the 404 of one that does not exist.
    const named = await search(ann.token, { q: word, conversationId: theirs.id });
    expect(expectApiError(named, "someone else's conversation", 404)).toBe("not_found");
    const unknown = await search(ann.token, { q: word, conversationId: "c_00000000000000000000" });
    expect(expectApiError(unknown, "no such conversation", 404)).toBe("not_found");
  });

  it("stops finding a group's messages once I left it, mine included", async () => {
    const { ann, bob, cat } = await threePeople();
    const word = uniqueWord("farewell");
    const { conversation } = await startConversation(ann.token, [bob.user.id, cat.user.id], {
      title: "Trip",
    });
    await sendMessage(ann.token, conversation.id, `my ${word} note`);
    await sendMessage(bob.token, conversation.id, `bob's ${word} note`);
    await drainOutbox(conversation.id, 2);
    expect(await found(ann.token, word)).toHaveLength(2);
    const left = await call("DELETE", `/api/conversations/${conversation.id}`, { token: ann.token });
    expect(left.status).toBe(204);
    expect(await found(ann.token, word)).toEqual([]);
    expect((await search(ann.token, { q: word, conversationId: conversation.id })).status).toBe(404);
    // The others still find everything.
    expect(await found(cat.token, word)).toHaveLength(2);
  });

  it("still finds a direct conversation I hid: I am still in it", async () => {
    const { ann, bob } = await threePeople();
    const word = uniqueWord("hidden");
    const { conversation } = await startConversation(ann.token, [bob.user.id]);
    await sendMessage(bob.token, conversation.id, `a ${word} thing`);
    await drainOutbox(conversation.id, 1);
    expect((await call("DELETE", `/api/conversations/${conversation.id}`, { token: ann.token })).status).toBe(
      204,
    );
    expect(await found(ann.token, word)).toEqual([`a ${word} thing`]);
  });

  it("finds an edited message by its new text, not its old, and a deleted one not at all", async () => {
    const { ann, bob } = await threePeople();
    const before = uniqueWord("before");
    const after = uniqueWord("after");
    const gone = uniqueWord("gone");
    const { conversation } = await startConversation(ann.token, [bob.user.id]);
    const id = conversation.id;
    const edited = await sendMessage(ann.token, id, `first ${before}`);
    const deleted = await sendMessage(ann.token, id, `second ${gone}`);
    await drainOutbox(id, 2);
    expect(await found(bob.token, before)).toEqual([`first ${before}`]);
    expect(await found(bob.token, gone)).toEqual([`second ${gone}`]);

    const patch = await call("PATCH", `/api/conversations/${id}/messages/${edited.id}`, {
      token: ann.token,
      body: { body: `first ${after}` },
    });
    expect(patch.status).toBe(200);
    const del = await call("DELETE", `/api/conversations/${id}/messages/${deleted.id}`, { token: ann.token });
    expect(del.status).toBe(204);

    expect(await found(bob.token, before)).toEqual([]);
    const res = await search(bob.token, { q: after });
    expect(res.body.results.map((r) => r.message)).toEqual([patch.body.message]);
    expect(res.body.results[0]?.message.editedAt).not.toBeNull();
    expect(await found(bob.token, gone)).toEqual([]);
    expect(await found(bob.token, "second")).toEqual([]);
  });

  it("lists a message as its history does: a reply's quote, reaction counts, my own reactions", async () => {
    const { ann, bob } = await threePeople();
    const word = uniqueWord("quoted");
    const { conversation } = await startConversation(ann.token, [bob.user.id]);
    const id = conversation.id;
    const original = await sendMessage(bob.token, id, "the original");
    const reply = await call("POST", `/api/conversations/${id}/messages`, {
      token: ann.token,
      body: { body: `a ${word} reply`, replyTo: original.id },
    });
    expect(reply.status).toBe(201);
    const replyId: string = reply.body.message.id;
    for (const [who, emoji] of [
      [bob, "👍"],
      [ann, "🎉"],
      [bob, "🎉"],
    ] as const) {
      const path = `/api/conversations/${id}/messages/${replyId}/reactions/${encodeURIComponent(emoji)}`;
      expect((await call("PUT", path, { token: who.token })).status).toBe(204);
    }
    await drainOutbox(id, 2);
    for (const who of [ann, bob]) {
      const history = await call<HistoryPage>("GET", `/api/conversations/${id}/messages`, {
        token: who.token,
      });
      const listed = history.body.messages.find((m) => m.id === replyId);
      const res = await search(who.token, { q: word });
      expect(res.body.results.map((r) => r.message)).toEqual([listed]);
      expect(listed?.replyTo?.id).toBe(original.id);
      expect(listed?.reactions.length).toBe(2);
    }
  });

  it("lists a found message's files with links of my own, which serve them to me", async () => {
    const { ann, bob } = await threePeople();
    const word = uniqueWord("postcard");
    const { conversation } = await startConversation(ann.token, [bob.user.id]);
    const bytes = png(40, 30);
    const file = await uploaded(ann.token, conversation.id, bytes, "image/png", "card.png");
    expect((await sendFiles(ann.token, conversation.id, [file.id], `a ${word} for you`)).status).toBe(201);
    await drainOutbox(conversation.id, 1);
    for (const who of [ann, bob]) {
      const res = await search(who.token, { q: word });
      const [files] = res.body.results.map((r) => r.message.attachments);
      expect(files).toEqual([{ ...file, url: expect.any(String) }]);
      const url = files![0]!.url;
      expect(new URL(url, "https://x").searchParams.get("u")).toBe(who.user.id);
      const got = await download(url);
      expect(got.status).toBe(200);
      expect(got.bytes).toEqual(bytes);
    }
  });

  it("keeps to one conversation with conversationId", async () => {
    const { ann, bob, cat } = await threePeople();
    const word = uniqueWord("scoped");
    const one = (await startConversation(ann.token, [bob.user.id])).conversation;
    const two = (await startConversation(ann.token, [cat.user.id])).conversation;
    await sendMessage(ann.token, one.id, `${word} in one`);
    await sendMessage(ann.token, two.id, `${word} in two`);
    await drainOutbox(one.id, 1);
    await drainOutbox(two.id, 1);
    expect(await found(ann.token, word)).toEqual([`${word} in two`, `${word} in one`]);
    expect(await found(ann.token, word, { conversationId: one.id })).toEqual([`${word} in one`]);
    expect(await found(ann.token, word, { conversationId: two.id })).toEqual([`${word} in two`]);
  });

  it("finds a socket message once the outbox copied it to the shard (search reads D1)", async () => {
    const { ann, bob } = await threePeople();
    const word = uniqueWord("socket");
    const { conversation } = await startConversation(ann.token, [bob.user.id]);
    const id = conversation.id;
    // The shard refuses this conversation's rows for a while: the message is acked (durable in the
    // room) but not in D1, so search cannot see it yet.
    const undo = await refuseMessageRows(id);
    const socket = await openSocket(`/api/conversations/${id}/ws`, { token: ann.token });
    let acked: Message;
    try {
      await socket.next(ofType("ready"));
      socket.send({ type: "send", body: `live ${word}`, clientId: "live-1" });
      acked = (await socket.next(ofType("ack"))).message;
      expect(await found(bob.token, word)).toEqual([]);
    } finally {
      await undo();
      socket.close();
    }
    await drainOutbox(id, 1);
    const res = await search(bob.token, { q: word });
    // A REST message (the ack is a socket event): with the caller's own reactions.
    expect(res.body.results.map((r) => r.message)).toEqual([{ ...acked, myReactions: [] }]);
  });

  it("lists a snippet around the matches of a long message, and keeps the text's own brackets apart from the marks", async () => {
    const { ann, bob } = await threePeople();
    const word = uniqueWord("needle");
    const { conversation } = await startConversation(ann.token, [bob.user.id]);
    const filler = Array.from({ length: 60 }, (_, i) => `hay${i}`).join(" ");
    await sendMessage(ann.token, conversation.id, `${filler} ${word} ${filler}`);
    await sendMessage(ann.token, conversation.id, `[[${word}]] and [${word}] and ]] [[`);
    await drainOutbox(conversation.id, 2);
    const res = await search(bob.token, { q: word });
    const [brackets, long] = res.body.results.map((r) => r.snippet);
    expect(long).toMatch(new RegExp(`^…hay\\d+ .*\\[\\[${word}\\]\\] .*hay\\d+…$`));
    expect(long!.length).toBeLessThan(300);
    const zw = "\u200b";
    expect(brackets).toBe(
      `[${zw}[${zw}[[${word}]]${zw}]${zw}] and [${zw}[[${word}]]${zw}] and ]${zw}] [${zw}[`,
    );
    // Read as marks, exactly the two words are matches.
    expect(brackets!.match(/\[\[(.*?)\]\]/g)).toEqual([`[[${word}]]`, `[[${word}]]`]);
  });
});
