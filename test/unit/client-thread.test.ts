import { describe, expect, it } from "vitest";
import { ThreadState } from "../../src/client/state/thread";
import type { Message } from "../../src/protocol/models";

/** The web client's view of reactions and quotes (src/client/state/thread.ts), without a browser. */

const person = (id: string) => ({ id, firstName: id, lastName: "", avatarUrl: null });

const message = (seq: number, senderId: string, extra: Partial<Message> = {}): Message => ({
  id: `m_${seq}`,
  conversationId: "c_1",
  seq,
  sender: person(senderId),
  body: `m${seq}`,
  clientId: null,
  createdAt: "2026-01-01T00:00:00.000Z",
  editedAt: null,
  deletedAt: null,
  replyTo: null,
  reactions: [],
  attachments: [],
  system: false,
  ...extra,
});

const reaction = (seq: number, userId: string, emoji: string, active: boolean, count: number) =>
  ({ type: "reaction", messageId: `m_${seq}`, seq, emoji, userId, active, count }) as const;

describe("the client's thread: reactions and quotes", () => {
  it("takes each reaction event's count as the truth and remembers my own reactions", () => {
    const thread = new ThreadState("me");
    thread.upsert(message(1, "ann", { reactions: [{ emoji: "👍", count: 1 }], myReactions: [] }));
    expect(thread.applyReaction(reaction(1, "me", "👍", true, 2))?.reactions).toEqual([
      { emoji: "👍", count: 2 },
    ]);
    expect([...thread.myReactions(1)]).toEqual(["👍"]);
    expect(thread.applyReaction(reaction(1, "bob", "🎉", true, 1))?.reactions).toEqual([
      { emoji: "👍", count: 2 },
      { emoji: "🎉", count: 1 },
    ]);
    expect(thread.applyReaction(reaction(1, "me", "👍", false, 1))?.reactions).toEqual([
      { emoji: "👍", count: 1 },
      { emoji: "🎉", count: 1 },
    ]);
    expect([...thread.myReactions(1)]).toEqual([]);
    expect(thread.applyReaction(reaction(1, "bob", "🎉", false, 0))?.reactions).toEqual([
      { emoji: "👍", count: 1 },
    ]);
    // A message not loaded is left to its page.
    expect(thread.applyReaction(reaction(7, "bob", "🎉", true, 1))).toBeUndefined();
  });

  it("rewrites the quotes of held replies when their original is edited or deleted", () => {
    const thread = new ThreadState("me");
    const quote = { id: "m_1", seq: 1, sender: person("ann"), body: "old", deletedAt: null };
    thread.upsert(message(2, "bob", { replyTo: quote }));
    thread.upsert(message(3, "bob"));
    const edited = thread.requote(
      message(1, "ann", { body: "x".repeat(250), editedAt: "2026-01-01T00:01:00.000Z" }),
    );
    expect(edited.map((m) => m.seq)).toEqual([2]);
    expect(thread.get(2)?.replyTo?.body).toBe("x".repeat(200));
    thread.requote(message(1, "ann", { body: "", deletedAt: "2026-01-01T00:02:00.000Z" }));
    expect(thread.get(2)?.replyTo).toMatchObject({ body: "", deletedAt: "2026-01-01T00:02:00.000Z" });
    expect(thread.get(3)?.replyTo).toBeNull();
  });
});
