import { describe, expect, it } from "vitest";
import { PendingSends } from "../../src/client/state/pending";
import { type PendingMessage, ThreadState } from "../../src/client/state/thread";
import type { Message } from "../../src/protocol/models";

/** The web client's bookkeeping of messages still sending (src/client/state), without a browser. */

const person = (id: string) => ({ id, firstName: id, lastName: "", avatarUrl: null });

const message = (seq: number, senderId: string, clientId: string | null, body = `m${seq}`): Message => ({
  id: `m_${seq}`,
  conversationId: "c_1",
  seq,
  sender: person(senderId),
  body,
  clientId,
  createdAt: "2026-01-01T00:00:00.000Z",
  editedAt: null,
  deletedAt: null,
  replyTo: null,
  reactions: [],
  attachments: [],
  system: false,
});

const sending = (clientId: string, body = "hello"): PendingMessage => ({
  clientId,
  body,
  createdAt: "2026-01-01T00:00:00.000Z",
  error: null,
});

describe("pending sends in the web client", () => {
  it("another person's message with my pending clientId does not settle my send", () => {
    const thread = new ThreadState("u_me");
    thread.pending.set("web-1", sending("web-1"));
    expect(thread.settles(message(1, "u_other", "web-1"))).toBe(false);
    expect(thread.upsert(message(1, "u_other", "web-1"))).toBe("added");
    expect([...thread.pending.keys()]).toEqual(["web-1"]);
    expect(thread.settles(message(2, "u_me", "web-1"))).toBe(true);
    thread.upsert(message(2, "u_me", "web-1"));
    expect(thread.pending.size).toBe(0);
  });

  it("a message still sending outlives its conversation's view and shows in the next one", () => {
    const pending = new PendingSends();
    const first = new ThreadState("u_me", pending.of("c_1"));
    first.pending.set("web-1", sending("web-1"));
    first.pending.set("web-2", { ...sending("web-2"), error: "refused" });
    expect(pending.hasUnsent("c_1")).toBe(true);
    expect(pending.hasUnsent("c_2")).toBe(false);

    // The view closes; another conversation opens, then the first one again.
    const other = new ThreadState("u_me", pending.of("c_2"));
    expect(other.pending.size).toBe(0);
    const again = new ThreadState("u_me", pending.of("c_1"));
    expect([...again.pending.keys()]).toEqual(["web-1", "web-2"]);

    // Confirmed once, in whichever thread the ack arrives: gone from both.
    first.upsert(message(7, "u_me", "web-1"));
    expect([...again.pending.keys()]).toEqual(["web-2"]);
    expect(pending.hasUnsent("c_1")).toBe(false);
  });

  it("marks what was still sending as failed when the conversation is gone, keeping earlier reasons", () => {
    const pending = new PendingSends();
    pending.of("c_1").set("web-1", sending("web-1"));
    pending.of("c_1").set("web-2", { ...sending("web-2"), error: "sending too fast" });
    pending.failAll("c_1", "You are no longer in that conversation.");
    expect([...pending.of("c_1").values()].map((p) => p.error)).toEqual([
      "You are no longer in that conversation.",
      "sending too fast",
    ]);
    expect(pending.hasUnsent("c_1")).toBe(false);
  });
});
