import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { newId } from "../../src/ids";
import { type TestUser, api, registerUser, sendMessage, startConversation } from "../helpers/api";
import { type TestSocket, ofType, openSocket } from "../helpers/socket";
import { type Outcome, call, upgrade } from "../helpers/call";
import { Figures, expectApiError, expectHardenedHeaders, show } from "../helpers/checks";
import { type ForgedCase, forgedTokens } from "../helpers/tokens";

/**
 * Every route and both sockets, called with each kind of credential. Only a participant's valid
 * token gets in; forged, expired and unsigned tokens get 401; someone who is not (or no longer) in
 * the conversation gets the very 404 of a conversation that does not exist, and hears nothing.
 */

const figures = new Figures("access-matrix");
afterAll(() => figures.print());

type Case = ForgedCase | "non-participant" | "former participant" | "participant";

interface Fixture {
  id: string;
  messageId: string;
}

async function rest(
  method: string,
  path: string,
  token: string | undefined,
  body?: unknown,
): Promise<Outcome> {
  const res = await api(method, path, { token, body });
  return { status: res.status, body: res.body, text: res.text, headers: res.headers };
}

interface Route {
  name: string;
  /** "conversation": scoped to one conversation; "user": scoped to the caller (no participants). */
  scope: "conversation" | "user";
  ok: number[];
  send: (token: string | undefined, f: Fixture) => Promise<Outcome>;
}

const ROUTES: Route[] = [
  { name: "GET /api/me", scope: "user", ok: [200], send: (t) => rest("GET", "/api/me", t) },
  {
    name: "PATCH /api/me",
    scope: "user",
    ok: [200],
    send: (t) => rest("PATCH", "/api/me", t, { lastName: "Matrix" }),
  },
  {
    // A valid caller with a wrong password: refused (403), nothing deleted.
    name: "DELETE /api/me",
    scope: "user",
    ok: [403],
    send: (t) => rest("DELETE", "/api/me", t, { password: "not the password" }),
  },
  { name: "GET /api/users", scope: "user", ok: [200], send: (t) => rest("GET", "/api/users?q=a", t) },
  {
    name: "GET /api/users/:id",
    scope: "user",
    ok: [200],
    send: (t) => rest("GET", `/api/users/${people.b.user.id}`, t),
  },
  {
    name: "GET /api/conversations",
    scope: "user",
    ok: [200],
    send: (t) => rest("GET", "/api/conversations", t),
  },
  {
    name: "POST /api/conversations",
    scope: "user",
    ok: [200, 201],
    send: (t) =>
      rest("POST", "/api/conversations", t, { participantIds: [people.b.user.id], title: "matrix" }),
  },
  {
    name: "GET /api/me/blocks",
    scope: "user",
    ok: [200],
    send: (t) => rest("GET", "/api/me/blocks", t),
  },
  {
    name: "POST /api/users/:id/block",
    scope: "user",
    ok: [204],
    send: (t) => rest("POST", `/api/users/${people.d.user.id}/block`, t),
  },
  {
    name: "DELETE /api/users/:id/block",
    scope: "user",
    ok: [204],
    send: (t) => rest("DELETE", `/api/users/${people.d.user.id}/block`, t),
  },
  {
    name: "GET /api/inbox/ws",
    scope: "user",
    ok: [101],
    send: (t) => upgrade("/api/inbox/ws", { token: t }),
  },
  {
    name: "GET /api/search",
    scope: "user",
    ok: [200],
    send: (t) => rest("GET", "/api/search?q=secret", t),
  },
  {
    name: "GET /api/conversations/:id",
    scope: "conversation",
    ok: [200],
    send: (t, f) => rest("GET", `/api/conversations/${f.id}`, t),
  },
  {
    name: "DELETE /api/conversations/:id",
    scope: "conversation",
    ok: [204],
    send: (t, f) => rest("DELETE", `/api/conversations/${f.id}`, t),
  },
  {
    name: "PATCH /api/conversations/:id",
    scope: "conversation",
    ok: [200],
    send: (t, f) => rest("PATCH", `/api/conversations/${f.id}`, t, { title: "renamed" }),
  },
  {
    name: "PATCH /api/conversations/:id/settings",
    scope: "conversation",
    ok: [200],
    send: (t, f) => rest("PATCH", `/api/conversations/${f.id}/settings`, t, { muted: true }),
  },
  {
    name: "DELETE /api/conversations/:id/participants/:userId",
    scope: "conversation",
    ok: [204],
    send: (t, f) => rest("DELETE", `/api/conversations/${f.id}/participants/${people.b.user.id}`, t),
  },
  {
    name: "PUT /api/conversations/:id/messages/:messageId/reactions/:emoji",
    scope: "conversation",
    ok: [204],
    send: (t, f) =>
      rest("PUT", `/api/conversations/${f.id}/messages/${f.messageId}/reactions/%F0%9F%91%8D`, t),
  },
  {
    name: "DELETE /api/conversations/:id/messages/:messageId/reactions/:emoji",
    scope: "conversation",
    ok: [204],
    send: (t, f) =>
      rest("DELETE", `/api/conversations/${f.id}/messages/${f.messageId}/reactions/%F0%9F%91%8D`, t),
  },
  {
    name: "POST /api/conversations/:id/participants",
    scope: "conversation",
    ok: [200],
    send: (t, f) =>
      rest("POST", `/api/conversations/${f.id}/participants`, t, { userIds: [people.d.user.id] }),
  },
  {
    name: "GET /api/conversations/:id/messages",
    scope: "conversation",
    ok: [200],
    send: (t, f) => rest("GET", `/api/conversations/${f.id}/messages`, t),
  },
  {
    name: "POST /api/conversations/:id/messages",
    scope: "conversation",
    ok: [201],
    send: (t, f) => rest("POST", `/api/conversations/${f.id}/messages`, t, { body: "from the matrix" }),
  },
  {
    name: "PATCH /api/conversations/:id/messages/:messageId",
    scope: "conversation",
    ok: [200],
    send: (t, f) =>
      rest("PATCH", `/api/conversations/${f.id}/messages/${f.messageId}`, t, { body: "changed" }),
  },
  {
    name: "DELETE /api/conversations/:id/messages/:messageId",
    scope: "conversation",
    ok: [204],
    send: (t, f) => rest("DELETE", `/api/conversations/${f.id}/messages/${f.messageId}`, t),
  },
  {
    name: "POST /api/conversations/:id/read",
    scope: "conversation",
    ok: [204],
    send: (t, f) => rest("POST", `/api/conversations/${f.id}/read`, t, { seq: 1 }),
  },
  {
    name: "GET /api/conversations/:id/ws",
    scope: "conversation",
    ok: [101],
    send: (t, f) => upgrade(`/api/conversations/${f.id}/ws`, { token: t }),
  },
  {
    name: "GET /api/search?conversationId=:id",
    scope: "conversation",
    ok: [200],
    send: (t, f) => rest("GET", `/api/search?q=secret&conversationId=${f.id}`, t),
  },
];

const people = {} as Record<"a" | "b" | "former" | "eve" | "d", TestUser>;
let forged: Record<ForgedCase, string | undefined>;
let eveInbox: TestSocket;
const fixtures: string[] = [];

/** A fresh group per route: a (who calls), b, and someone who left; one message of a's. */
async function freshFixture(): Promise<Fixture> {
  const { conversation } = await startConversation(
    people.a.token,
    [people.b.user.id, people.former.user.id],
    { title: "private" },
  );
  const message = await sendMessage(people.a.token, conversation.id, "secret");
  expect(
    (await api("DELETE", `/api/conversations/${conversation.id}`, { token: people.former.token })).status,
  ).toBe(204);
  fixtures.push(conversation.id);
  return { id: conversation.id, messageId: message.id };
}

beforeAll(async () => {
  people.a = await registerUser("Ann", "Matrix");
  people.b = await registerUser("Bob", "Matrix");
  people.former = await registerUser("Flo", "Matrix");
  people.eve = await registerUser("Eve", "Matrix");
  people.d = await registerUser("Dan", "Matrix");
  forged = await forgedTokens(people.a.user.id);
  eveInbox = await openSocket("/api/inbox/ws", { token: people.eve.token });
  await eveInbox.next(ofType("ready"));
});

describe("access control matrix", () => {
  for (const route of ROUTES) {
    it(`${route.name}: only a participant's valid token gets in`, async () => {
      const fixture = await freshFixture();
      const cases: [Case, string | undefined][] = [
        ["no token", forged["no token"]],
        ["expired", forged.expired],
        ["other key", forged["other key"]],
        ["alg none", forged["alg none"]],
        ["non-participant", people.eve.token],
        ...(route.scope === "conversation"
          ? ([["former participant", people.former.token]] as [Case, string][])
          : []),
        ["participant", people.a.token],
      ];
      // What a conversation that does not exist looks like from the outside: the only thing a
      // non-participant may learn.
      const missing =
        route.scope === "conversation"
          ? await route.send(people.eve.token, { id: newId("c"), messageId: fixture.messageId })
          : null;
      for (const [name, token] of cases) {
        const res = await route.send(token, fixture);
        figures.add("route × token checks");
        const context = `${route.name} with ${name}`;
        if (name === "participant" || (route.scope === "user" && name === "non-participant")) {
          expect(route.ok, `${context}: ${show(res.text)}`).toContain(res.status);
          if (res.headers && res.status !== 204) expectHardenedHeaders(res.headers);
        } else if (name === "non-participant" || name === "former participant") {
          expect(res.status, `${context}: ${show(res.text)}`).toBe(404);
          if (res.headers) expectApiError({ ...res, headers: res.headers }, context, 404);
          expect(res.body, `${context} must look like a missing conversation`).toEqual(missing?.body);
        } else {
          expect(res.status, `${context}: ${show(res.text)}`).toBe(401);
          if (res.headers)
            expect(expectApiError({ ...res, headers: res.headers }, context, 401)).toBe("unauthorized");
        }
      }
    });
  }

  it("left every conversation as it was after the refused calls", async () => {
    for (const id of fixtures) {
      const history = await call("GET", `/api/conversations/${id}/messages`, { token: people.b.token });
      if (history.status === 404) continue; // the DELETE route's fixture: a left, b still sees it
      // The one message, plus at most the participant's own send: nothing from a refused call.
      expect(
        history.body.messages.every((m: { sender: { id: string } }) => m.sender.id === people.a.user.id),
      ).toBe(true);
      expect(history.body.messages.length).toBeLessThanOrEqual(2);
      const view = await call("GET", `/api/conversations/${id}`, { token: people.b.token });
      const members = view.body.participants.map((u: { id: string }) => u.id);
      expect(members).not.toContain(people.eve.user.id);
      expect(members).not.toContain(people.former.user.id);
    }
    const forEve = await call("GET", "/api/conversations", { token: people.eve.token });
    expect(
      forEve.body.conversations
        .map((c: { id: string }) => c.id)
        .filter((id: string) => fixtures.includes(id)),
    ).toEqual([]);
    const forFormer = await call("GET", "/api/conversations", { token: people.former.token });
    expect(
      forFormer.body.conversations
        .map((c: { id: string }) => c.id)
        .filter((id: string) => fixtures.includes(id)),
    ).toEqual([]);
  });

  it("never told the non-participant's inbox anything about those conversations", async () => {
    await new Promise((r) => setTimeout(r, 100));
    const leaks = eveInbox.events.filter(
      (e) => JSON.stringify(e).includes("private") || fixtures.some((id) => JSON.stringify(e).includes(id)),
    );
    expect(leaks).toEqual([]);
    eveInbox.close();
  });

  it("never lists those conversations' messages in a non-participant's or former participant's search", async () => {
    for (const who of [people.eve, people.former]) {
      const res = await call("GET", "/api/search?q=secret&limit=50", { token: who.token });
      expect(res.status).toBe(200);
      const ids = res.body.results.map((r: { conversation: { id: string } }) => r.conversation.id);
      expect(ids.filter((id: string) => fixtures.includes(id))).toEqual([]);
    }
    // The participant finds them (the drained copies of the fixtures' one message each).
    const forAnn = await call("GET", "/api/search?q=secret&limit=50", { token: people.a.token });
    expect(forAnn.body.results.length).toBeGreaterThan(0);
  });

  it("accepts a token in the query only on the socket routes", async () => {
    for (const path of ["/api/me", "/api/conversations", `/api/conversations/${fixtures[0]}`]) {
      const res = await api("GET", `${path}${path.includes("?") ? "&" : "?"}access_token=${people.a.token}`);
      figures.add("route × token checks");
      expect(expectApiError(res, path, 401)).toBe("unauthorized");
    }
  });

  it("shows other people only their public profile, wherever a user appears", async () => {
    const PUBLIC = ["avatarUrl", "firstName", "id", "lastName"];
    const { conversation } = await startConversation(people.a.token, [people.b.user.id], {
      title: "profiles",
    });
    const ib = await openSocket("/api/inbox/ws", { token: people.b.token });
    await ib.next(ofType("ready"));
    const sb = await openSocket(`/api/conversations/${conversation.id}/ws`, { token: people.b.token });
    await sb.next(ofType("ready"));
    const sent = await sendMessage(people.a.token, conversation.id, "who am I");
    const users: unknown[] = [
      sent.sender,
      (await sb.next(ofType("message"))).message.sender,
      (await ib.next((e) => e.type === "conversation.updated" && e.conversation.id === conversation.id))
        .conversation.lastMessage.sender,
      ...(
        await call("GET", `/api/conversations/${conversation.id}/messages`, { token: people.b.token })
      ).body.messages.map((m: { sender: unknown }) => m.sender),
      ...(await call("GET", `/api/conversations/${conversation.id}`, { token: people.b.token })).body
        .participants,
      ...(await call("GET", "/api/conversations", { token: people.b.token })).body.conversations.flatMap(
        (c: { participants: unknown[] }) => c.participants,
      ),
      ...(await call("GET", "/api/users?q=a", { token: people.b.token })).body.users,
      (await call("GET", `/api/users/${people.a.user.id}`, { token: people.b.token })).body,
      // REST sends answer once the shard has the message: search finds it.
      ...(
        await call("GET", `/api/search?q=who&conversationId=${conversation.id}`, { token: people.b.token })
      ).body.results.map((r: { message: { sender: unknown } }) => r.message.sender),
    ];
    expect(users.length).toBeGreaterThan(6);
    for (const user of users) expect(Object.keys(user as object).sort(), show(user)).toEqual(PUBLIC);
    figures.add("public profile checks", users.length);
    ib.close();
    sb.close();
  });

  it("gives a non-participant's open socket nothing from a conversation it is not in", async () => {
    const { conversation } = await startConversation(people.a.token, [people.b.user.id], { title: "quiet" });
    const eveSockets = [await openSocket("/api/inbox/ws", { token: people.eve.token })];
    await eveSockets[0]!.next(ofType("ready"));
    const sa = await openSocket(`/api/conversations/${conversation.id}/ws`, { token: people.a.token });
    await sa.next(ofType("ready"));
    sa.send({ type: "typing", active: true });
    sa.send({ type: "send", body: "for b only", clientId: "q1" });
    await sa.next(ofType("ack"));
    await api("POST", `/api/conversations/${conversation.id}/participants`, {
      token: people.a.token,
      body: { userIds: [people.d.user.id] },
    });
    await new Promise((r) => setTimeout(r, 100));
    expect(eveSockets[0]!.events.filter((e) => e.type !== "ready")).toEqual([]);
    sa.close();
    eveSockets[0]!.close();
  });
});

describe("cross-site WebSocket", () => {
  const FOREIGN = [
    "https://evil.example",
    "null",
    "http://chat.test",
    "https://chat.test:8443",
    "https://chat.test.evil.example",
    "https://sub.chat.test",
    "https://chat.tes",
  ];

  it("refuses a foreign Origin with 403 before the upgrade, token or not", async () => {
    const { conversation } = await startConversation(people.a.token, [people.b.user.id]);
    for (const path of ["/api/inbox/ws", `/api/conversations/${conversation.id}/ws`]) {
      for (const origin of FOREIGN) {
        for (const token of [people.a.token, undefined]) {
          const res = await upgrade(path, { token, origin });
          figures.add("origin checks");
          expect(res.status, `${path} from ${origin}`).toBe(403);
          expect(expectApiError({ ...res, headers: res.headers! }, `${path} from ${origin}`, 403)).toBe(
            "forbidden",
          );
        }
      }
      // This site's own pages and clients that send no Origin (native apps, servers) are let in.
      expect((await upgrade(path, { token: people.a.token, origin: "https://chat.test" })).status).toBe(101);
      expect((await upgrade(path, { token: people.a.token })).status).toBe(101);
    }
  });

  it("lets in the origins listed in ALLOWED_ORIGINS, and only those", async () => {
    const { conversation } = await startConversation(people.a.token, [people.b.user.id]);
    const allowed = { ALLOWED_ORIGINS: "https://app.example, https://other.example" };
    for (const path of ["/api/inbox/ws", `/api/conversations/${conversation.id}/ws`]) {
      for (const [origin, status] of [
        ["https://app.example", 101],
        ["https://other.example", 101],
        ["https://evil.example", 403],
        ["https://app.example.evil.example", 403],
      ] as const) {
        const res = await upgrade(path, { token: people.a.token, origin, env: allowed });
        figures.add("origin checks");
        expect(res.status, `${path} from ${origin}`).toBe(status);
      }
    }
  });
});
