import { evictDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { api, registerUser, sendMessage, startConversation } from "../helpers/api";
import { ofType, openSocket } from "../helpers/socket";
import { until } from "../helpers/wait";

/**
 * Read positions as a client sees them: `read` events (coalesced per window, here the next turn),
 * `reads` on `ready` and on Conversation, so "seen by" survives reconnects, reloads and evictions.
 */

const wsPath = (id: string, since?: number) =>
  `/api/conversations/${id}/ws${since === undefined ? "" : `?since=${since}`}`;
const byUser = (reads: { userId: string; lastReadSeq: number }[]) =>
  Object.fromEntries(reads.map((r) => [r.userId, r.lastReadSeq]));

describe("read positions", () => {
  it("tells a reconnecting client everyone's position in ready.reads, after an eviction too", async () => {
    const a = await registerUser("Ann");
    const b = await registerUser("Bob");
    const { id } = (await startConversation(a.token, [b.user.id])).conversation;
    for (const body of ["one", "two", "three"]) await sendMessage(a.token, id, body);
    const sa = await openSocket(wsPath(id), { token: a.token });
    const sb = await openSocket(wsPath(id, 0), { token: b.token });
    await sa.next(ofType("ready"));
    const readyB = await sb.next(ofType("ready"));
    // Sending implies reading: Ann is at 3; Bob has read nothing yet.
    expect(byUser(readyB.reads)).toEqual({ [a.user.id]: 3, [b.user.id]: 0 });
    expect(readyB.replayedTo).toBe(3);
    await sb.collect(ofType("message"), 3);
    sb.send({ type: "read", seq: 2 });
    expect(await sa.next(ofType("read"))).toEqual({ type: "read", userId: b.user.id, seq: 2 });
    sa.close();

    await evictDurableObject(env.CONVERSATION_ROOM.getByName(id));
    const again = await openSocket(wsPath(id, 3), { token: a.token });
    const ready = await again.next(ofType("ready"));
    expect(byUser(ready.reads)).toEqual({ [a.user.id]: 3, [b.user.id]: 2 });
    expect(ready).toMatchObject({ lastSeq: 3, replayedTo: 3 });
    // And on the conversation itself (a reload reads it before the socket opens).
    const view = await api("GET", `/api/conversations/${id}`, { token: a.token });
    expect(byUser(view.body.reads)).toEqual({ [a.user.id]: 3, [b.user.id]: 2 });
    again.close();
    sb.close();
  });

  it("never moves a position backwards, over the socket or REST, and tells only the ones that move", async () => {
    const a = await registerUser("Ann");
    const b = await registerUser("Bob");
    const { id } = (await startConversation(a.token, [b.user.id])).conversation;
    for (let i = 1; i <= 5; i++) await sendMessage(a.token, id, `m${i}`);
    const sa = await openSocket(wsPath(id), { token: a.token });
    const sb = await openSocket(wsPath(id), { token: b.token });
    await Promise.all([sa.next(ofType("ready")), sb.next(ofType("ready"))]);
    sb.send({ type: "read", seq: 4 });
    expect(await sa.next(ofType("read"))).toMatchObject({ userId: b.user.id, seq: 4 });
    // Backwards over the socket and over REST: nothing moves, nothing is told.
    sb.send({ type: "read", seq: 1 });
    expect(
      (await api("POST", `/api/conversations/${id}/read`, { token: b.token, body: { seq: 2 } })).status,
    ).toBe(204);
    sb.send({ type: "read", seq: 5 });
    expect(await sa.next(ofType("read"))).toMatchObject({ userId: b.user.id, seq: 5 });
    const told = sa.events.filter((e) => e.type === "read").map((e) => e.seq);
    expect(told).toEqual([4, 5]);
    const view = await api("GET", `/api/conversations/${id}`, { token: b.token });
    expect(view.body).toMatchObject({ lastReadSeq: 5, unreadCount: 0 });
    // The reader's own inbox hears of it; the others' listings get it with the conversation's next
    // activity (a read costs no notice to every member).
    const listedReads = async (token: string) => {
      const inbox = await api("GET", "/api/conversations", { token });
      const listed = inbox.body.conversations.find((c: { id: string }) => c.id === id);
      return byUser(listed?.reads ?? []);
    };
    await until(
      "Bob's position in his inbox listing",
      async () => (await listedReads(b.token))[b.user.id] === 5,
    );
    await sendMessage(a.token, id, "m6");
    expect(await listedReads(a.token)).toEqual({ [a.user.id]: 6, [b.user.id]: 5 });
    sa.close();
    sb.close();
  });

  it("lists the readers of a group furthest along first in reads", async () => {
    const a = await registerUser("Ann");
    const b = await registerUser("Bob");
    const c = await registerUser("Cat");
    const { id } = (await startConversation(a.token, [b.user.id, c.user.id], { title: "g" })).conversation;
    for (let i = 1; i <= 3; i++) await sendMessage(a.token, id, `m${i}`);
    await api("POST", `/api/conversations/${id}/read`, { token: c.token, body: { seq: 1 } });
    const view = await api("GET", `/api/conversations/${id}`, { token: b.token });
    // Bob has read nothing: a group lists only those who have read something.
    expect(view.body.reads).toEqual([
      { userId: a.user.id, lastReadSeq: 3 },
      { userId: c.user.id, lastReadSeq: 1 },
    ]);
  });
});
