import { describe, expect, it } from "vitest";
import { api, registerUser } from "../helpers/api";

describe("starting conversations", () => {
  it("creates the direct conversation of a pair once, then returns it", async () => {
    const a = await registerUser("Ann");
    const b = await registerUser("Bob");
    const first = await api("POST", "/api/conversations", {
      token: a.token,
      body: { participantIds: [b.user.id] },
    });
    expect(first.status).toBe(201);
    expect(first.body.conversation).toMatchObject({
      kind: "direct",
      title: null,
      lastSeq: 0,
      lastMessage: null,
      unreadCount: 0,
    });
    expect(first.body.conversation.participants.map((u: { id: string }) => u.id).sort()).toEqual(
      [a.user.id, b.user.id].sort(),
    );
    const again = await api("POST", "/api/conversations", {
      token: b.token,
      body: { participantIds: [a.user.id] },
    });
    expect(again.status).toBe(200);
    expect(again.body.conversation.id).toBe(first.body.conversation.id);
  });

  it("ends two simultaneous first requests with one direct conversation", async () => {
    const a = await registerUser();
    const b = await registerUser();
    const results = await Promise.all([
      api("POST", "/api/conversations", { token: a.token, body: { participantIds: [b.user.id] } }),
      api("POST", "/api/conversations", { token: b.token, body: { participantIds: [a.user.id] } }),
      api("POST", "/api/conversations", {
        token: a.token,
        body: { participantIds: [b.user.id], body: "hi" },
      }),
    ]);
    const ids = new Set(results.map((r) => r.body.conversation.id));
    expect(ids.size).toBe(1);
    expect(results.filter((r) => r.status === 201)).toHaveLength(1);
    const inbox = await api("GET", "/api/conversations", { token: a.token });
    expect(inbox.body.conversations).toHaveLength(1);
  });

  it("creates a group with a title and an optional first message", async () => {
    const a = await registerUser();
    const b = await registerUser();
    const c = await registerUser();
    const res = await api("POST", "/api/conversations", {
      token: a.token,
      body: { participantIds: [b.user.id, c.user.id], title: "Engines", body: "  first!  ", clientId: "c-1" },
    });
    expect(res.status).toBe(201);
    expect(res.body.conversation).toMatchObject({ kind: "group", title: "Engines", lastSeq: 1 });
    expect(res.body.conversation.participants).toHaveLength(3);
    expect(res.body.message).toMatchObject({
      seq: 1,
      body: "first!",
      clientId: "c-1",
      sender: { id: a.user.id },
    });
  });

  it("answers clear 422s for bad participant lists and bodies", async () => {
    const a = await registerUser();
    const b = await registerUser();
    const cases: unknown[] = [
      {},
      { participantIds: [] },
      { participantIds: [a.user.id] },
      { participantIds: ["u_doesnotexist"] },
      { participantIds: [b.user.id], body: "   " },
      { participantIds: [b.user.id], body: "x".repeat(4001) },
      { participantIds: "nope" },
    ];
    for (const body of cases) {
      const res = await api("POST", "/api/conversations", { token: a.token, body });
      expect(res.status, JSON.stringify(body)).toBe(422);
      expect(res.body.error.code).toBe("validation_failed");
      expect(res.body.error.details.length).toBeGreaterThan(0);
    }
    const inbox = await api("GET", "/api/conversations", { token: a.token });
    expect(inbox.body.conversations).toHaveLength(0);
  });
});
