import { describe, expect, it } from "vitest";
import { registerUser, startConversation } from "../helpers/api";
import { ofType, openSocket } from "../helpers/socket";

/** PRESENCE_MAX_MEMBERS is 1 here: every conversation is over it. */
describe("presence in large rooms", () => {
  it("has no presence in rooms over PRESENCE_MAX_MEMBERS: no presence events, an empty online list", async () => {
    const a = await registerUser();
    const b = await registerUser();
    const { conversation } = await startConversation(a.token, [b.user.id]);
    const path = `/api/conversations/${conversation.id}/ws`;
    const sa = await openSocket(path, { token: a.token });
    await sa.next(ofType("ready"));
    const sb = await openSocket(path, { token: b.token });
    expect((await sb.next(ofType("ready"))).online).toEqual([]);
    sb.send({ type: "typing", active: true });
    await sa.next(ofType("typing"));
    expect(sa.events.some((e) => e.type === "presence")).toBe(false);
    sa.close();
    sb.close();
  });
});
