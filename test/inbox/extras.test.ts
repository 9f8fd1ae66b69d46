import { describe, expect, it } from "vitest";
import type { Conversation } from "../../src/protocol/models";
import type { InboxPage } from "../../src/protocol/responses";
import { api, registerUser, sendMessage, startConversation } from "../helpers/api";
import { inboxPage, inboxWhen } from "../helpers/inbox";

/**
 * What replies, reactions, renames and mute change in the inbox listing, which the user's object
 * serves from the rooms' notices: the caller's own REST write is in their listing when it answers,
 * the others' with the room's next notice.
 */

const entry = (page: InboxPage, id: string): Conversation | undefined =>
  page.conversations.find((c) => c.id === id);

const reactionPath = (id: string, messageId: string, emoji: string) =>
  `/api/conversations/${id}/messages/${messageId}/reactions/${encodeURIComponent(emoji)}`;

describe("the inbox listing and the conversation features", () => {
  it("lists the last message with its quote and reaction counts, kept current by reactions and edits", async () => {
    const a = await registerUser("Ann");
    const b = await registerUser("Bob");
    const { conversation } = await startConversation(a.token, [b.user.id]);
    const id = conversation.id;
    const original = await sendMessage(b.token, id, "the original");
    const reply = await api("POST", `/api/conversations/${id}/messages`, {
      token: a.token,
      body: { body: "the reply", replyTo: original.id },
    });
    expect(reply.status).toBe(201);
    const quote = { id: original.id, seq: original.seq, body: "the original", deletedAt: null };
    expect(entry(await inboxPage(a.token), id)?.lastMessage).toMatchObject({
      id: reply.body.message.id,
      replyTo: { ...quote, sender: { id: b.user.id } },
      reactions: [],
    });

    // Bob reacts to the last message: his listing has the count when the call answers, Ann's next.
    const react = await api("PUT", reactionPath(id, reply.body.message.id, "👍"), { token: b.token });
    expect(react.status).toBe(204);
    const counts = [{ emoji: "👍", count: 1 }];
    expect(entry(await inboxPage(b.token), id)?.lastMessage?.reactions).toEqual(counts);
    const anns = await inboxWhen(a.token, (p) => entry(p, id)?.lastMessage?.reactions.length === 1);
    expect(entry(anns, id)?.lastMessage).toMatchObject({ reactions: counts, replyTo: quote });
    // The listing is no REST answer about messages: nobody's own reactions there.
    expect(entry(anns, id)?.lastMessage).not.toHaveProperty("myReactions");

    // An edit of the quoted message rewrites the quote the listing shows.
    const edit = await api("PATCH", `/api/conversations/${id}/messages/${original.id}`, {
      token: b.token,
      body: { body: "the original, edited" },
    });
    expect(edit.status).toBe(200);
    expect(entry(await inboxPage(b.token), id)?.lastMessage?.replyTo?.body).toBe("the original, edited");
    await inboxWhen(a.token, (p) => entry(p, id)?.lastMessage?.replyTo?.body === "the original, edited");
  });

  it("lists a member's own mute and a group's new title as soon as the call answers", async () => {
    const a = await registerUser("Ann");
    const b = await registerUser("Bob");
    const c = await registerUser("Cat");
    const { conversation } = await startConversation(a.token, [b.user.id, c.user.id], {
      title: "before",
      body: "hi",
    });
    const id = conversation.id;
    await inboxWhen(b.token, (p) => entry(p, id) !== undefined);

    const mute = await api("PATCH", `/api/conversations/${id}/settings`, {
      token: b.token,
      body: { muted: true },
    });
    expect(mute.status).toBe(200);
    expect(entry(await inboxPage(b.token), id)?.muted).toBe(true);
    expect(entry(await inboxPage(a.token), id)?.muted).toBe(false);

    const rename = await api("PATCH", `/api/conversations/${id}`, {
      token: c.token,
      body: { title: "after" },
    });
    expect(rename.status).toBe(200);
    expect(entry(await inboxPage(c.token), id)?.title).toBe("after");
    const bobs = await inboxWhen(b.token, (p) => entry(p, id)?.title === "after");
    // A rename tells everyone; Bob's mute stays his.
    expect(entry(bobs, id)).toMatchObject({ title: "after", muted: true });
  });
});
