import { afterAll, describe, expect, it } from "vitest";
import { Figures } from "../helpers/checks";
import { registerUser, startConversation } from "../helpers/api";
import { ofType, openSocket } from "../helpers/socket";

const figures = new Figures("typing");
afterAll(() => figures.print());

/** TYPING_THROTTLE_MS is a minute here: the whole test runs inside one throttle window. */
describe("typing frames", () => {
  it("cannot make the room broadcast faster than the typing throttle, however they are toggled", async () => {
    const a = await registerUser();
    const b = await registerUser();
    const { conversation } = await startConversation(a.token, [b.user.id]);
    const sa = await openSocket(`/api/conversations/${conversation.id}/ws`, { token: a.token });
    await sa.next(ofType("ready"));
    const sb = await openSocket(`/api/conversations/${conversation.id}/ws`, { token: b.token });
    await sb.next(ofType("ready"));
    // Stops before any start, then 200 frames toggling as fast as the socket goes.
    for (let i = 0; i < 20; i++) sa.send({ type: "typing", active: false });
    for (let i = 0; i < 200; i++) sa.send({ type: "typing", active: i % 2 === 0 });
    figures.add("inputs", 220);
    sa.send({ type: "send", body: "done", clientId: "done" });
    const done = await sb.next(ofType("message"));
    // b's own read comes back in a window that closes after every typing frame above was handled.
    sb.send({ type: "read", seq: done.message.seq });
    await sb.next((e) => e.type === "read" && e.userId === b.user.id);
    // The throttle let one start and its stop through; one window (RECEIPT_WINDOW_MS) may have
    // merged them into nothing. Never more.
    expect([[], [true, false]]).toContainEqual(
      sb.events.filter((e) => e.type === "typing").map((e) => e.active),
    );
    sa.close();
    sb.close();
  });
});
