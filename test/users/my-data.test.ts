import { describe, expect, it } from "vitest";
import type { Message } from "../../src/protocol/models";
import type { UserExport } from "../../src/protocol/responses";
import { api, registerUser, sendMessage, startConversation } from "../helpers/api";
import { newPushClient } from "../helpers/push-service";

/** API.md, "Your data": a user's export holds everything of theirs and nothing of anyone else's. */

describe("GET /api/me/export", () => {
  it("returns the caller's profile, conversations, own messages, blocks and push subscriptions only", async () => {
    const [ada, bob, cy] = await Promise.all([
      registerUser("Ada", "Ex"),
      registerUser("Bob", "Ex"),
      registerUser("Cy", "Ex"),
    ]);
    const direct = await startConversation(ada.token, [bob.user.id], { body: "hello bob", clientId: "a1" });
    const group = await startConversation(bob.token, [ada.user.id, cy.user.id], { title: "Trio" });
    const mine = [
      direct.message as Message,
      await sendMessage(ada.token, group.conversation.id, "ada in the group"),
    ];
    await sendMessage(bob.token, direct.conversation.id, "bob answers");
    const removed = await sendMessage(ada.token, group.conversation.id, "taken back");
    expect(
      (
        await api("DELETE", `/api/conversations/${group.conversation.id}/messages/${removed.id}`, {
          token: ada.token,
        })
      ).status,
    ).toBe(204);
    // Not Ada's: a conversation between the two others.
    const others = await startConversation(bob.token, [cy.user.id], { body: "between bob and cy" });
    expect((await api("POST", `/api/users/${cy.user.id}/block`, { token: ada.token })).status).toBe(204);
    const key = (await api<{ key: string }>("GET", "/api/push/vapid-public-key", { token: ada.token })).body
      .key;
    const browser = await newPushClient(key);
    const subscribed = await api("POST", "/api/push/subscriptions", {
      token: ada.token,
      body: { endpoint: browser.endpoint, keys: browser.keys },
    });
    expect(subscribed.status).toBe(201);

    const res = await api<UserExport>("GET", "/api/me/export", { token: ada.token });
    expect(res.status).toBe(200);
    const data = res.body;
    expect(data.user).toEqual(ada.user);
    expect(data.conversations.map((c) => c.id).sort()).toEqual(
      [direct.conversation.id, group.conversation.id].sort(),
    );
    expect(data.conversations.map((c) => c.id)).not.toContain(others.conversation.id);
    expect(data.messages.map((m) => m.id).sort()).toEqual(mine.map((m) => m.id).sort());
    expect(data.messages.every((m) => m.sender?.id === ada.user.id)).toBe(true);
    expect(data.blocks.map((u) => u.id)).toEqual([cy.user.id]);
    expect(data.pushSubscriptions).toEqual([{ endpoint: browser.endpoint }]);

    // Bob's export has his side and none of Ada's messages.
    const bobs = (await api<UserExport>("GET", "/api/me/export", { token: bob.token })).body;
    expect(bobs.messages.map((m) => m.body).sort()).toEqual(["between bob and cy", "bob answers"]);
    expect(bobs.blocks).toEqual([]);
    expect(bobs.pushSubscriptions).toEqual([]);
  });

  it("is refused without a token", async () => {
    expect((await api("GET", "/api/me/export")).status).toBe(401);
  });
});
