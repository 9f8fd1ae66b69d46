import { evictDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { registerUser, startConversation } from "../helpers/api";
import { ofType, openSocket } from "../helpers/socket";

const wsPath = (id: string) => `/api/conversations/${id}/ws`;

describe("hibernation", () => {
  it("keeps serving sockets after the room hibernates between two sends", async () => {
    const a = await registerUser("Ann");
    const b = await registerUser("Bob");
    const { id } = (await startConversation(a.token, [b.user.id])).conversation;
    const sa = await openSocket(wsPath(id), { token: a.token });
    const sb = await openSocket(wsPath(id), { token: b.token });
    await Promise.all([sa.next(ofType("ready")), sb.next(ofType("ready"))]);
    sa.send({ type: "send", body: "before", clientId: "h1" });
    await sb.next(ofType("message"));
    await sa.next(ofType("ack"));
    await evictDurableObject(env.CONVERSATION_ROOM.getByName(id), { webSockets: "hibernate" });
    sa.send({ type: "send", body: "after", clientId: "h2" });
    const after = await sb.next(ofType("message"));
    expect(after.message).toMatchObject({
      seq: 2,
      body: "after",
      sender: { id: a.user.id, firstName: "Ann" },
    });
    expect((await sa.next(ofType("ack"))).clientId).toBe("h2");
    // Idempotency survives the wake-up: it lives in storage, not memory.
    sa.send({ type: "send", body: "before", clientId: "h1" });
    expect((await sa.next(ofType("ack"))).message.seq).toBe(1);
    sa.close();
    sb.close();
  });
});
