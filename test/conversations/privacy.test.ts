import { describe, expect, it } from "vitest";
import { api, registerUser, startConversation } from "../helpers/api";

describe("privacy", () => {
  it("answers 404 to a non-participant on every route and changes nothing", async () => {
    const a = await registerUser();
    const b = await registerUser();
    const eve = await registerUser("Eve");
    const { conversation, message } = await startConversation(a.token, [b.user.id], { body: "secret" });
    const id = conversation.id;
    const mid = message!.id;
    const attempts: [string, string, unknown?][] = [
      ["GET", `/api/conversations/${id}`],
      ["DELETE", `/api/conversations/${id}`],
      ["POST", `/api/conversations/${id}/participants`, { userIds: [eve.user.id] }],
      ["GET", `/api/conversations/${id}/messages`],
      ["POST", `/api/conversations/${id}/messages`, { body: "let me in" }],
      ["PATCH", `/api/conversations/${id}/messages/${mid}`, { body: "edited by eve" }],
      ["DELETE", `/api/conversations/${id}/messages/${mid}`],
      ["POST", `/api/conversations/${id}/read`, { seq: 1 }],
    ];
    const unknownId = "c_00000000000000000000";
    for (const [method, path, body] of attempts) {
      const res = await api(method, path, { token: eve.token, body });
      expect(res.status, `${method} ${path}`).toBe(404);
      const missing = await api(method, path.replace(id, unknownId), { token: eve.token, body });
      // A conversation Eve is not in looks exactly like one that does not exist.
      expect(missing.body, `${method} ${path}`).toEqual(res.body);
    }
    const history = await api("GET", `/api/conversations/${id}/messages`, { token: a.token });
    expect(history.body.messages).toHaveLength(1);
    expect(history.body.messages[0]).toMatchObject({ body: "secret", editedAt: null, deletedAt: null });
    expect((await api("GET", `/api/conversations/${id}`, { token: a.token })).body.participants).toHaveLength(
      2,
    );
  });
});
