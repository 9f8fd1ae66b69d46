import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { Conversation, User } from "../../src/protocol/models";
import { type TestUser, api, registerUser, sendMessage, startConversation } from "../helpers/api";
import { until } from "../helpers/wait";

/** The profile a room shows for `who`, as another participant reads the conversation. */
async function shownIn(reader: TestUser, conversationId: string, who: string): Promise<User | undefined> {
  const res = await api<Conversation>("GET", `/api/conversations/${conversationId}`, { token: reader.token });
  return res.body.participants.find((p) => p.id === who);
}

describe("profile changes reaching rooms", () => {
  it("keeps the newest profile in a room whatever order numbered changes reach it in", async () => {
    const [a, b] = await Promise.all([registerUser("Ann", "Order"), registerUser()]);
    const { conversation } = await startConversation(a.token, [b.user.id]);
    const room = env.CONVERSATION_ROOM.getByName(conversation.id);
    const profile = { id: a.user.id, lastName: "Order", avatarUrl: null };
    // The later change arrives first; the earlier one, late, must not take the room back.
    await room.updateProfile({ ...profile, firstName: "Second" }, 2);
    await room.updateProfile({ ...profile, firstName: "First" }, 1);
    expect((await shownIn(b, conversation.id, a.user.id))?.firstName).toBe("Second");
    await room.updateProfile({ ...profile, firstName: "Third" }, 3);
    expect((await shownIn(b, conversation.id, a.user.id))?.firstName).toBe("Third");
  });

  it("answers concurrent changes of one name or the other, and leaves every room with the profile GET /api/me shows", async () => {
    const [a, b, c] = await Promise.all([registerUser("Ann", "Race"), registerUser(), registerUser()]);
    const { conversation: direct } = await startConversation(a.token, [b.user.id]);
    const { conversation: group } = await startConversation(b.token, [a.user.id, c.user.id], { title: "g" });
    // Racing each other, each over its own await (the read of the name it keeps): never a 500.
    const answers = await Promise.all(
      Array.from({ length: 12 }, (_, i) =>
        api("PATCH", "/api/me", {
          token: a.token,
          body: i % 3 === 2 ? { lastName: `Last${i}` } : { firstName: `Name${i}` },
        }),
      ),
    );
    expect(answers.map((r) => r.status)).toEqual(answers.map(() => 200));
    const me = (await api<User>("GET", "/api/me", { token: a.token })).body;
    const newest = { firstName: me.firstName, lastName: me.lastName };
    // The search keys were written with the names stored.
    const found = await api("GET", `/api/users?q=${encodeURIComponent(`${me.firstName} ${me.lastName}`)}`, {
      token: b.token,
    });
    expect(found.body.users.map((u: User) => u.id)).toEqual([a.user.id]);
    for (const [reader, id] of [
      [b, direct.id],
      [c, group.id],
    ] as const) {
      await until(`room ${id} shows ${newest.firstName}`, async () => {
        const shown = await shownIn(reader, id, a.user.id);
        return shown?.firstName === newest.firstName && shown.lastName === newest.lastName;
      });
    }
    // A message sent now carries the same profile in the room's history.
    await sendMessage(a.token, group.id, "after the changes");
    const history = await api("GET", `/api/conversations/${group.id}/messages`, { token: c.token });
    expect(history.body.messages.at(-1).sender).toMatchObject(newest);
  });
});
