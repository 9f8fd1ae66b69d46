import { describe, expect, it } from "vitest";
import { RoomEventSchema } from "../../src/protocol/frames";
import { ConversationCreatedSchema, MessageResponseSchema } from "../../src/protocol/responses";
import { api, registerUser, sendMessage, startConversation } from "../helpers/api";
import { call } from "../helpers/call";
import { TestIdp, idpToken, newKey, newSub } from "../helpers/idp";
import { inboxWhen } from "../helpers/inbox";
import { ofType, openSocket } from "../helpers/socket";

/** The key test/vitest.config.ts configures in SERVER_API_KEYS. */
const KEY = "test-server-key-0123456789abcdefghijklmnop";

const server = (method: string, path: string, body?: unknown, key = KEY) =>
  call(method, `/api/server${path}`, { token: key, body });

describe("server API: conversations", () => {
  it("starts a direct conversation for a user, with a first message from them, once per pair", async () => {
    const a = await registerUser("Ann");
    const b = await registerUser("Bob");
    const created = await server("POST", "/conversations", {
      createdBy: a.user.id,
      participantIds: [b.user.id],
      body: "Welcome aboard",
      clientId: "welcome-1",
    });
    expect(created.status).toBe(201);
    expect(ConversationCreatedSchema.safeParse(created.body).success).toBe(true);
    expect(created.body.conversation).toMatchObject({ kind: "direct", title: null, lastSeq: 1 });
    expect(created.body.message).toMatchObject({
      seq: 1,
      body: "Welcome aboard",
      clientId: "welcome-1",
      sender: { id: a.user.id },
      system: false,
    });
    // The same pair again is the same conversation, as POST /api/conversations answers.
    const again = await server("POST", "/conversations", {
      createdBy: b.user.id,
      participantIds: [a.user.id],
    });
    expect(again.status).toBe(200);
    expect(again.body.conversation.id).toBe(created.body.conversation.id);
    // Bob's inbox hears of the new conversation from its room (the creator's has it on the answer).
    const seenByBob = await inboxWhen(b.token, (page) =>
      page.conversations.some((c) => c.id === created.body.conversation.id),
    );
    expect(seenByBob.conversations[0]).toMatchObject({
      id: created.body.conversation.id,
      unreadCount: 1,
      lastMessage: { body: "Welcome aboard", sender: { id: a.user.id } },
    });
  });

  it("starts a group with the creator in it", async () => {
    const [a, b, c] = await Promise.all([registerUser("Ann"), registerUser("Bob"), registerUser("Cy")]);
    const res = await server("POST", "/conversations", {
      createdBy: a.user.id,
      participantIds: [b.user.id, c.user.id],
      title: "Project kickoff",
    });
    expect(res.status).toBe(201);
    expect(res.body.conversation).toMatchObject({ kind: "group", title: "Project kickoff" });
    expect(res.body.conversation.participants.map((p: { id: string }) => p.id).sort()).toEqual(
      [a.user.id, b.user.id, c.user.id].sort(),
    );
    expect(res.body.message).toBeUndefined();
    const view = await api("GET", `/api/conversations/${res.body.conversation.id}`, { token: c.token });
    expect(view.status).toBe(200);
  });

  it("refuses an unknown creator or participant (422) and a body a user could not send either", async () => {
    const a = await registerUser();
    const unknownCreator = await server("POST", "/conversations", {
      createdBy: "u_nobody",
      participantIds: [a.user.id],
    });
    expect(unknownCreator.status).toBe(422);
    expect(unknownCreator.body.error.details).toEqual([
      { path: "createdBy", message: "unknown user u_nobody" },
    ]);
    const unknownOther = await server("POST", "/conversations", {
      createdBy: a.user.id,
      participantIds: ["u_nobody"],
    });
    expect(unknownOther.status).toBe(422);
    const onlySelf = await server("POST", "/conversations", {
      createdBy: a.user.id,
      participantIds: [a.user.id],
    });
    expect(onlySelf.status).toBe(422);
    const noCreator = await server("POST", "/conversations", { participantIds: [a.user.id] });
    expect(noCreator.status).toBe(422);
  });
});

describe("server API: messages", () => {
  it("posts as a participant, and a replayed clientId returns the original", async () => {
    const a = await registerUser("Ann");
    const b = await registerUser("Bob");
    const { conversation } = await startConversation(a.token, [b.user.id]);
    const path = `/conversations/${conversation.id}/messages`;
    const first = await server("POST", path, {
      body: "From the app",
      clientId: "app-1",
      senderId: b.user.id,
    });
    expect(first.status).toBe(201);
    expect(MessageResponseSchema.safeParse(first.body).success).toBe(true);
    expect(first.body.message).toMatchObject({ seq: 1, sender: { id: b.user.id }, system: false });
    const replay = await server("POST", path, {
      body: "From the app",
      clientId: "app-1",
      senderId: b.user.id,
    });
    expect(replay.status).toBe(200);
    expect(replay.body.message.id).toBe(first.body.message.id);
    // Bob's own message: the sender's read position moves with it, as for any send.
    const bob = await api("GET", `/api/conversations/${conversation.id}`, { token: b.token });
    expect(bob.body).toMatchObject({ lastSeq: 1, unreadCount: 0 });
  });

  it("posts a system message to the sockets, the history and the unread counts of every participant", async () => {
    const a = await registerUser("Ann");
    const b = await registerUser("Bob");
    const { conversation } = await startConversation(a.token, [b.user.id], { body: "hi" });
    const id = conversation.id;
    const sa = await openSocket(`/api/conversations/${id}/ws`, { token: a.token });
    const sb = await openSocket(`/api/conversations/${id}/ws?batch=1`, { token: b.token });
    await sa.next(ofType("ready"));
    await sb.next(ofType("ready"));

    const posted = await server("POST", `/conversations/${id}/messages`, {
      body: "Your order has shipped",
      clientId: "order-42",
    });
    expect(posted.status).toBe(201);
    const expected = {
      conversationId: id,
      seq: 2,
      sender: null,
      system: true,
      body: "Your order has shipped",
      clientId: "order-42",
    };
    expect(posted.body.message).toMatchObject(expected);
    for (const socket of [sa, sb]) {
      const event = await socket.next((e) => e.type === "message" && e.message.seq === 2);
      expect(RoomEventSchema.safeParse(event).success).toBe(true);
      expect(event.message).toMatchObject(expected);
    }
    // The same clientId again is the same system message, not a second one.
    const replay = await server("POST", `/conversations/${id}/messages`, {
      body: "Your order has shipped",
      clientId: "order-42",
    });
    expect(replay.status).toBe(200);
    expect(replay.body.message.id).toBe(posted.body.message.id);

    const history = await api("GET", `/api/conversations/${id}/messages`, { token: b.token });
    expect(history.body.messages.map((m: { seq: number; system: boolean }) => [m.seq, m.system])).toEqual([
      [1, false],
      [2, true],
    ]);
    expect(history.body.messages[1]).toMatchObject(expected);
    // Unread for both: nobody sent it, so nobody's read position moved. Their inboxes hear of it
    // with the room's next notice.
    for (const [user, unread] of [
      [a, 1],
      [b, 2],
    ] as const) {
      const inbox = await inboxWhen(user.token, (page) =>
        page.conversations.some((c) => c.id === id && c.lastSeq === 2),
      );
      const row = inbox.conversations.find((c) => c.id === id);
      expect(row).toMatchObject({ unreadCount: unread, lastSeq: 2, lastMessage: expected });
    }
    // A reply may quote it: the quote has no sender either.
    const reply = await api("POST", `/api/conversations/${id}/messages`, {
      token: a.token,
      body: { body: "great", replyTo: posted.body.message.id },
    });
    expect(reply.status).toBe(201);
    expect(reply.body.message.replyTo).toEqual({
      id: posted.body.message.id,
      seq: 2,
      sender: null,
      body: "Your order has shipped",
      deletedAt: null,
    });
    // Nobody can edit or delete it: it is not theirs.
    const edit = await api("PATCH", `/api/conversations/${id}/messages/${posted.body.message.id}`, {
      token: a.token,
      body: { body: "changed" },
    });
    expect(edit.status).toBe(403);
    // People keep talking after it; the next seq follows.
    expect((await sendMessage(b.token, id, "thanks")).seq).toBe(4);
    sa.close();
    sb.close();
  });

  it("refuses a senderId who is not a participant (422) and an unknown conversation (404)", async () => {
    const a = await registerUser();
    const b = await registerUser();
    const outsider = await registerUser();
    const { conversation } = await startConversation(a.token, [b.user.id]);
    const res = await server("POST", `/conversations/${conversation.id}/messages`, {
      body: "sneaking in",
      senderId: outsider.user.id,
    });
    expect(res.status).toBe(422);
    expect(res.body.error.details).toEqual([
      { path: "senderId", message: "not a participant of this conversation" },
    ]);
    const history = await api("GET", `/api/conversations/${conversation.id}/messages`, { token: a.token });
    expect(history.body.messages).toEqual([]);
    for (const id of ["c_aaaaaaaaaaaaaaaaaaaa", "not-an-id"]) {
      expect((await server("POST", `/conversations/${id}/messages`, { body: "hello" })).status).toBe(404);
    }
    const empty = await server("POST", `/conversations/${conversation.id}/messages`, { body: "   " });
    expect(empty.status).toBe(422);
  });
});

describe("server API: conversations and messages refuse user tokens", () => {
  it("answers 403 to an own token and to an identity provider's token", async () => {
    const idp = new TestIdp();
    const signing = await newKey("ES256");
    idp.publish([signing]);
    idp.install();
    try {
      const a = await registerUser();
      const b = await registerUser();
      const { conversation } = await startConversation(a.token, [b.user.id]);
      const external = await idpToken(signing, newSub());
      for (const token of [a.token, external]) {
        const create = await server(
          "POST",
          "/conversations",
          { createdBy: a.user.id, participantIds: [b.user.id], title: "x" },
          token,
        );
        expect(create.status).toBe(403);
        const post = await server("POST", `/conversations/${conversation.id}/messages`, { body: "x" }, token);
        expect(post.status).toBe(403);
        expect(post.body.error.code).toBe("forbidden");
      }
      const history = await api("GET", `/api/conversations/${conversation.id}/messages`, { token: a.token });
      expect(history.body.messages).toEqual([]);
    } finally {
      idp.uninstall();
    }
  });
});
