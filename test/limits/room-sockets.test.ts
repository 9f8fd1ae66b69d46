import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { limitsFrom } from "../../src/config";
import { CloseCode } from "../../src/protocol/close-codes";
import { api, registerUser, sendMessage, startConversation } from "../helpers/api";
import { ofType, openSocket } from "../helpers/socket";

/** Here (test/vitest.config.ts, "limits"): 2 sockets per user per room, replays of at most 5000 bytes. */
const limits = limitsFrom(env);
const wsPath = (id: string, since?: number) =>
  `/api/conversations/${id}/ws${since === undefined ? "" : `?since=${since}`}`;

describe("sockets per user per room", () => {
  it("closes a user's oldest socket in a room with 4429 when they open one more than ROOM_SOCKETS_PER_USER", async () => {
    expect(limits.roomSocketsPerUser).toBe(2);
    const [a, b] = await Promise.all([registerUser(), registerUser()]);
    const { conversation } = await startConversation(a.token, [b.user.id]);
    const { conversation: other } = await startConversation(a.token, [b.user.id], { title: "other" });
    const elsewhere = await openSocket(wsPath(other.id), { token: a.token });
    const sb = await openSocket(wsPath(conversation.id), { token: b.token });
    const first = await openSocket(wsPath(conversation.id), { token: a.token });
    const second = await openSocket(wsPath(conversation.id), { token: a.token });
    for (const s of [elsewhere, sb, first, second]) await s.next(ofType("ready"));
    const third = await openSocket(wsPath(conversation.id), { token: a.token });
    await third.next(ofType("ready"));
    expect(await first.closed).toMatchObject({ code: CloseCode.tooManySockets });
    // The newest two stay, and so do the user's sockets elsewhere and the other person's.
    await sendMessage(b.token, conversation.id, "to the newest two");
    for (const s of [second, third])
      expect((await s.next(ofType("message"))).message.body).toBe("to the newest two");
    await sendMessage(b.token, other.id, "elsewhere");
    expect((await elsewhere.next(ofType("message"))).message.body).toBe("elsewhere");
    sb.send({ type: "typing", active: true });
    await third.next(ofType("typing"));
    for (const s of [elsewhere, sb, second, third]) s.close();
  });
});

describe("replay per socket", () => {
  it("replays at most REPLAY_MAX_BYTES of missed messages; ready.replayedTo says where to page on from", async () => {
    expect(limits.replayMaxBytes).toBe(5000);
    const [a, b] = await Promise.all([registerUser(), registerUser()]);
    const { conversation } = await startConversation(a.token, [b.user.id]);
    // Three of about 2 KB each (two senders: each has a small message budget here).
    await sendMessage(a.token, conversation.id, "1".repeat(2000));
    await sendMessage(b.token, conversation.id, "2".repeat(2000));
    await sendMessage(a.token, conversation.id, "3".repeat(2000));
    let lastSeq = 3;
    for (const batch of [false, true]) {
      const s = await openSocket(`${wsPath(conversation.id, 0)}${batch ? "&batch=1" : ""}`, {
        token: b.token,
      });
      const ready = await s.next(ofType("ready"));
      expect(ready).toMatchObject({ lastSeq, replayedTo: 2 });
      const replayed = await s.collect(ofType("message"), 2);
      expect(replayed.map((e) => e.message.seq)).toEqual([1, 2]);
      // The rest over REST, from where the replay stopped.
      const rest = await api(
        "GET",
        `/api/conversations/${conversation.id}/messages?after=${ready.replayedTo}`,
        {
          token: b.token,
        },
      );
      expect(rest.body.messages.map((m: { seq: number }) => m.seq)).toEqual(
        Array.from({ length: lastSeq - 2 }, (_, i) => i + 3),
      );
      await sendMessage(a.token, conversation.id, "live");
      lastSeq++;
      expect((await s.next(ofType("message"))).message.seq).toBe(lastSeq);
      expect(s.events.filter((e) => e.type === "message").map((e) => e.message.seq)).toEqual([1, 2, lastSeq]);
      s.close();
    }
  });
});
