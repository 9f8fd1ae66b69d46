import { evictDurableObject, runDurableObjectAlarm } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { limitsFrom } from "../../src/config";
import { registerUser, startConversation } from "../helpers/api";
import { ofType, openSocket } from "../helpers/socket";

/** INBOX_NOTIFY_WINDOW_MS is an hour here: no notice goes out on its own during the test. */
describe("inbox notice window", () => {
  it("coalesces inbox notices: a burst of messages in one window makes one update with the latest state", async () => {
    const burst = limitsFrom(env).messageRatePer10s; // as many as one sender may send at once here
    const a = await registerUser();
    const b = await registerUser();
    const { conversation } = await startConversation(a.token, [b.user.id], { title: "busy" });
    const ib = await openSocket("/api/inbox/ws", { token: b.token });
    await ib.next(ofType("ready"));
    const stub = env.CONVERSATION_ROOM.getByName(conversation.id);
    const sa = await openSocket(`/api/conversations/${conversation.id}/ws`, { token: a.token });
    await sa.next(ofType("ready"));
    for (let i = 1; i <= burst; i++) sa.send({ type: "send", body: `burst ${i}`, clientId: `b${i}` });
    await sa.collect(ofType("ack"), burst);
    const updates = () => ib.events.filter((e) => e.type === "conversation.updated").length;
    // The alarm that flushes the D1 outbox runs, but the inbox window has not passed: no notice yet.
    await runDurableObjectAlarm(stub);
    expect(updates()).toBe(0);
    // A room woken from hibernation does not know when the window started: pending notices are
    // due at once. That lets this test end the window without waiting an hour. The alarm that
    // sends them is this one, or the runtime's own when the senders' read positions (stored at
    // the end of their signals window) have queued an outbox pass meanwhile.
    await evictDurableObject(stub, { webSockets: "hibernate" });
    await runDurableObjectAlarm(stub);
    const update = await ib.next(
      (e) => e.type === "conversation.updated" && e.conversation.lastSeq === burst,
    );
    expect(update.conversation).toMatchObject({
      unreadCount: burst,
      lastMessage: { body: `burst ${burst}` },
    });
    expect(updates()).toBe(1);
    sa.close();
    ib.close();
  });
});
