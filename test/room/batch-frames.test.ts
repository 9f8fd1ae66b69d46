import { describe, expect, it } from "vitest";
import { RoomEventSchema } from "../../src/protocol/frames";
import { registerUser, startConversation } from "../helpers/api";
import { ofType, openSocket } from "../helpers/socket";

/**
 * `?batch=1` sockets may receive the events committed together as one JSON array frame; other
 * sockets always get one frame per event (API.md). How a group is framed is fan-out's unit test
 * (test/unit/fan-out.test.ts); here, real sockets receive a burst either way, complete and in order.
 */
describe("batched frames", () => {
  it("delivers a burst to ?batch=1 sockets in seq order, in arrays or not, and one event per frame to others", async () => {
    const a = await registerUser();
    const b = await registerUser();
    const { conversation } = await startConversation(a.token, [b.user.id]);
    const path = `/api/conversations/${conversation.id}/ws`;
    const sender = await openSocket(`${path}?batch=1`, { token: a.token });
    const batched = await openSocket(`${path}?batch=1`, { token: b.token });
    const plain = await openSocket(path, { token: b.token });
    await Promise.all([
      sender.next(ofType("ready")),
      batched.next(ofType("ready")),
      plain.next(ofType("ready")),
    ]);
    const burst = 20;
    for (let i = 1; i <= burst; i++) sender.send({ type: "send", body: `burst ${i}`, clientId: `g${i}` });
    const seqs = Array.from({ length: burst }, (_, i) => i + 1);
    expect((await sender.collect(ofType("ack"), burst)).map((e) => e.message.seq)).toEqual(seqs);
    expect((await batched.collect(ofType("message"), burst)).map((e) => e.message.seq)).toEqual(seqs);
    expect((await plain.collect(ofType("message"), burst)).map((e) => e.message.seq)).toEqual(seqs);
    expect(plain.frames.some(Array.isArray)).toBe(false);
    for (const frame of batched.frames.filter(Array.isArray)) {
      expect(frame.length).toBeGreaterThan(1);
      for (const event of frame) expect(RoomEventSchema.safeParse(event).success).toBe(true);
    }
    for (const s of [sender, batched, plain]) s.close();
  });

  it("replays what a reconnecting ?batch=1 socket missed as one array after ready, one frame each to others", async () => {
    const a = await registerUser();
    const b = await registerUser();
    const { conversation } = await startConversation(a.token, [b.user.id]);
    const path = `/api/conversations/${conversation.id}/ws`;
    const sender = await openSocket(`${path}?batch=1`, { token: a.token });
    await sender.next(ofType("ready"));
    for (let i = 1; i <= 5; i++) sender.send({ type: "send", body: `missed ${i}`, clientId: `r${i}` });
    await sender.collect(ofType("ack"), 5);
    const batched = await openSocket(`${path}?batch=1&since=2`, { token: b.token });
    const plain = await openSocket(`${path}?since=2`, { token: b.token });
    for (const s of [batched, plain]) {
      expect(await s.next(ofType("ready"))).toMatchObject({ lastSeq: 5, replayedTo: 5 });
      expect((await s.collect(ofType("message"), 3)).map((e) => e.message.seq)).toEqual([3, 4, 5]);
    }
    expect(batched.frames).toHaveLength(2);
    expect(batched.frames[1]).toHaveLength(3);
    expect(plain.frames).toHaveLength(4);
    for (const s of [sender, batched, plain]) s.close();
  });
});
