import { env } from "cloudflare:workers";
import * as fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { limitsFrom } from "../../src/config";
import { isReactionEmoji } from "../../src/protocol/emoji";
import { requestSchemas } from "../../src/protocol/requests";
import { type ApiResult, type TestUser, registerUser, sendMessage, startConversation } from "../helpers/api";
import { Figures, d1Snapshot, expectApiError, expectHardenedHeaders, safe, show } from "../helpers/checks";
import { PARSE_ERROR, type RawBody, hostileBody, hostileParam, hostileString } from "../helpers/hostile";
import { call } from "../helpers/call";
import { historyDbOf } from "../helpers/d1";

/**
 * Every REST body, query and path parameter under fuzz: each input is either valid (the schema and
 * the data say so) and does what the API promises, or gets a 4xx in API.md's shape and changes no
 * row anywhere. Never a 500.
 */

const figures = new Figures("rest-fuzz");
afterAll(() => figures.print());

const schemas = requestSchemas(limitsFrom(env));
const MAX_BODY = limitsFrom(env).maxBodyBytes;
const encoder = new TextEncoder();

let a: TestUser;
let b: TestUser;
let c: TestUser;
let directId: string;
let group: string;
let editable: string;

beforeAll(async () => {
  a = await registerUser("Ann", "Fuzz");
  b = await registerUser("Bob", "Fuzz");
  c = await registerUser("Cy", "Fuzz");
  directId = (await startConversation(a.token, [b.user.id])).conversation.id;
  group = (await startConversation(a.token, [b.user.id], { title: "fuzz group" })).conversation.id;
  editable = (await sendMessage(a.token, directId, "edit me", "editable")).id;
  // Hundreds of valid sends in a few seconds: this project's MESSAGE_RATE_PER_10S is out of reach
  // (vitest.config.ts); the per-user rate has its own test in test/limits/.
});

/** What the server sees: the body goes over the wire as UTF-8, so lone surrogates arrive as U+FFFD. */
function onTheWire(text: string): { value: unknown; bytes: number } {
  const bytes = encoder.encode(text);
  try {
    return { value: JSON.parse(new TextDecoder().decode(bytes)), bytes: bytes.length };
  } catch {
    return { value: PARSE_ERROR, bytes: bytes.length };
  }
}

type Verdict = { accept: true; ok: number[] } | { accept: false; statuses: number[] };

interface BodyRoute {
  name: string;
  method: string;
  path: () => string;
  token: () => string | undefined;
  valid: () => Record<string, unknown>;
  fields: string[];
  runs: number;
  /** The oracle: given a well-formed JSON value that fits the size cap, what must happen. */
  judge: (value: unknown) => Verdict;
  /** Run-specific rewrite of the body text (fresh emails for registration). */
  prepare?: (text: string, run: number) => string;
  /** State a refused request must leave untouched, besides every D1 row. */
  state?: () => Promise<unknown>;
  /** After an accepted request: what was acknowledged is what is stored. */
  verify?: (res: ApiResult<any>, value: unknown) => Promise<void>;
}

const schemaVerdict = (ok: boolean, okStatus: number[]): Verdict =>
  ok ? { accept: true, ok: okStatus } : { accept: false, statuses: [422] };

/**
 * A body's length is counted in code points after trimming, by the REST schema (zod) and the room
 * alike, so 4000 emoji fit and 4001 do not.
 */
const MAX_BODY_CHARS = limitsFrom(env).maxMessageChars;
const bodyFits = (value: unknown): boolean => {
  const body = (value as { body?: unknown }).body;
  return typeof body !== "string" || [...body.trim()].length <= MAX_BODY_CHARS;
};

const roomState = (token: () => string, id: () => string) => async () => {
  const view = await call("GET", `/api/conversations/${id()}`, { token: token() });
  const first = await call("GET", `/api/conversations/${id()}/messages?after=0&limit=100`, {
    token: token(),
  });
  return [view.body, first.body];
};

const known = () => new Set([a.user.id, b.user.id, c.user.id]);

const ROUTES: BodyRoute[] = [
  {
    name: "POST /api/auth/register",
    method: "POST",
    path: () => "/api/auth/register",
    token: () => undefined,
    valid: () => ({
      email: "fuzz-base@example.com",
      password: "long enough password",
      firstName: "Fi",
      lastName: "Zz",
      avatarUrl: "https://example.com/a.png",
    }),
    fields: ["email", "password", "firstName", "lastName", "avatarUrl"],
    runs: 70,
    prepare: (text, run) =>
      text.replaceAll("fuzz-base@example.com", `fuzz-${run}-${crypto.randomUUID().slice(0, 6)}@example.com`),
    judge: (v) => schemaVerdict(schemas.register.safeParse(v).success, [201]),
    verify: async (res, v) => {
      const expected = schemas.register.parse(v);
      expect(res.body.user).toMatchObject({ firstName: expected.firstName, lastName: expected.lastName });
      const row = await env.DB.prepare("SELECT first_name, last_name FROM users WHERE id = ?")
        .bind(res.body.user.id)
        .first();
      expect(row).toEqual({ first_name: expected.firstName, last_name: expected.lastName });
    },
  },
  {
    name: "POST /api/auth/login",
    method: "POST",
    path: () => "/api/auth/login",
    token: () => undefined,
    valid: () => ({ email: a.user.email, password: a.password }),
    fields: ["email", "password"],
    runs: 60,
    judge: (v) => {
      const parsed = schemas.login.safeParse(v);
      if (!parsed.success) return { accept: false, statuses: [422] };
      const right =
        parsed.data.email.trim().toLowerCase() === a.user.email && parsed.data.password === a.password;
      // A right pair may still meet the per-account limit (10 a minute): then 429, never a token.
      return right ? { accept: true, ok: [200, 429] } : { accept: false, statuses: [401, 429] };
    },
  },
  {
    name: "POST /api/conversations",
    method: "POST",
    path: () => "/api/conversations",
    token: () => a.token,
    valid: () => ({ participantIds: [b.user.id, c.user.id], title: "T", body: "hello", clientId: "k" }),
    fields: ["participantIds", "title", "body", "clientId"],
    runs: 60,
    judge: (v) => {
      const parsed = schemas.createConversation.safeParse(v);
      if (!parsed.success) return { accept: false, statuses: [422] };
      const others = [...new Set(parsed.data.participantIds)].filter((id) => id !== a.user.id);
      const ok = others.length > 0 && others.every((id) => known().has(id)) && bodyFits(v);
      return ok ? { accept: true, ok: [200, 201] } : { accept: false, statuses: [422] };
    },
  },
  {
    name: "POST /api/conversations/:id/participants",
    method: "POST",
    path: () => `/api/conversations/${group}/participants`,
    token: () => a.token,
    valid: () => ({ userIds: [c.user.id] }),
    fields: ["userIds"],
    runs: 50,
    judge: (v) => {
      const parsed = schemas.addParticipants.safeParse(v);
      if (!parsed.success) return { accept: false, statuses: [422] };
      return parsed.data.userIds.every((id) => known().has(id))
        ? { accept: true, ok: [200] }
        : { accept: false, statuses: [422] };
    },
    state: roomState(
      () => a.token,
      () => group,
    ),
  },
  {
    name: "POST /api/conversations/:id/messages",
    method: "POST",
    path: () => `/api/conversations/${directId}/messages`,
    token: () => a.token,
    valid: () => ({ body: "hello", clientId: "fuzz-client", replyTo: editable }),
    fields: ["body", "clientId", "replyTo"],
    runs: 120,
    judge: (v) => {
      const parsed = schemas.sendMessage.safeParse(v);
      // A reply quotes a message of this conversation: the one message there is.
      const replyOk = !parsed.success || [undefined, editable].includes(parsed.data.replyTo);
      return schemaVerdict(parsed.success && bodyFits(v) && replyOk, [200, 201]);
    },
    state: roomState(
      () => a.token,
      () => directId,
    ),
    verify: async (res, v) => {
      const { body } = schemas.sendMessage.parse(v);
      const acked = res.body.message;
      if (res.status === 201) expect(acked.body).toBe(body);
      const page = await call(
        "GET",
        `/api/conversations/${directId}/messages?after=${acked.seq - 1}&limit=1`,
        { token: b.token },
      );
      expect(page.body.messages[0]).toEqual(acked);
      const row = await (
        await historyDbOf(directId)
      )
        .prepare("SELECT body FROM messages WHERE conversation_id = ? AND seq = ?")
        .bind(directId, acked.seq)
        .first();
      expect(row).toEqual({ body: acked.body });
    },
  },
  {
    name: "PATCH /api/conversations/:id/messages/:messageId",
    method: "PATCH",
    path: () => `/api/conversations/${directId}/messages/${editable}`,
    token: () => a.token,
    valid: () => ({ body: "edited" }),
    fields: ["body"],
    runs: 60,
    judge: (v) => schemaVerdict(schemas.editMessage.safeParse(v).success && bodyFits(v), [200]),
    state: roomState(
      () => a.token,
      () => directId,
    ),
    verify: async (res, v) => {
      expect(res.body.message.body).toBe(schemas.editMessage.parse(v).body);
    },
  },
  {
    name: "POST /api/conversations/:id/read",
    method: "POST",
    path: () => `/api/conversations/${directId}/read`,
    token: () => b.token,
    valid: () => ({ seq: 1 }),
    fields: ["seq"],
    runs: 60,
    judge: (v) => schemaVerdict(schemas.markRead.safeParse(v).success, [204]),
    state: roomState(
      () => b.token,
      () => directId,
    ),
  },
  {
    name: "PATCH /api/conversations/:id",
    method: "PATCH",
    path: () => `/api/conversations/${group}`,
    token: () => b.token,
    valid: () => ({ title: "renamed by fuzz" }),
    fields: ["title"],
    runs: 60,
    judge: (v) => schemaVerdict(schemas.renameConversation.safeParse(v).success, [200]),
    state: roomState(
      () => a.token,
      () => group,
    ),
    verify: async (res, v) => {
      const { title } = schemas.renameConversation.parse(v);
      expect(res.body.title).toBe(title);
      expect((await call("GET", `/api/conversations/${group}`, { token: a.token })).body.title).toBe(title);
    },
  },
  {
    name: "PATCH /api/conversations/:id/settings",
    method: "PATCH",
    path: () => `/api/conversations/${directId}/settings`,
    token: () => b.token,
    valid: () => ({ muted: true }),
    fields: ["muted"],
    runs: 40,
    judge: (v) => schemaVerdict(schemas.conversationSettings.safeParse(v).success, [200]),
    state: roomState(
      () => b.token,
      () => directId,
    ),
    verify: async (res, v) => {
      expect(res.body.muted).toBe(schemas.conversationSettings.parse(v).muted);
    },
  },
  // Last: a profile change is pushed to the rooms in the background, which would move their views.
  {
    name: "PATCH /api/me",
    method: "PATCH",
    path: () => "/api/me",
    token: () => a.token,
    valid: () => ({ firstName: "Ann", lastName: "Fuzz", avatarUrl: "https://example.com/a.png" }),
    fields: ["firstName", "lastName", "avatarUrl"],
    runs: 80,
    judge: (v) => schemaVerdict(schemas.updateMe.safeParse(v).success, [200]),
    state: async () => (await call("GET", "/api/me", { token: a.token })).body,
    verify: async (res, v) => {
      const patch = schemas.updateMe.parse(v);
      expect(res.body).toMatchObject(patch);
      expect((await call("GET", "/api/me", { token: a.token })).body).toEqual(res.body);
    },
  },
];

/** The reactions path of the editable message, for any emoji (encoded). */
const reactionPath = (emoji: string) =>
  `/api/conversations/${directId}/messages/${editable}/reactions/${q(emoji)}`;

describe("REST bodies under fuzz", () => {
  for (const route of ROUTES) {
    it(`${route.name}: valid bodies work, every other body is a 4xx that changes nothing`, async () => {
      const snapshot = async () =>
        JSON.stringify([await d1Snapshot(), route.state ? await route.state() : null]);
      let before = await snapshot();
      let run = 0;
      await fc.assert(
        fc.asyncProperty(hostileBody(route.valid(), route.fields), async (raw: RawBody) => {
          run++;
          const text = route.prepare ? route.prepare(raw.text, run) : raw.text;
          const { value, bytes } = onTheWire(text);
          const res = await call(route.method, route.path(), {
            token: route.token(),
            rawBody: text,
            headers: { "content-type": "application/json" },
          });
          figures.add("inputs");
          const context = `${route.name} [${raw.kind}] ${show(text, 200)}`;
          expect(res.status, `${context} → ${show(res.text)}`).toBeLessThan(500);
          const verdict: Verdict =
            bytes > MAX_BODY
              ? { accept: false, statuses: [413] }
              : value === PARSE_ERROR
                ? { accept: false, statuses: [400] }
                : route.judge(value);
          if (verdict.accept) {
            expect(verdict.ok, `${context} → ${res.status} ${show(res.text)}`).toContain(res.status);
            expectHardenedHeaders(res.headers);
            if (res.status < 300) await route.verify?.(res, value);
            before = await snapshot();
            return;
          }
          expectApiError(res, context);
          expect(verdict.statuses, `${context} → ${res.status} ${show(res.text)}`).toContain(res.status);
          expect(await snapshot(), `${context} changed stored state`).toBe(before);
        }),
        { numRuns: route.runs, endOnFailure: true },
      );
    });
  }

  it("refuses bodies that are not declared as JSON with 400, whatever they contain", async () => {
    const contentType = fc.constantFrom(
      "text/plain",
      "application/x-www-form-urlencoded",
      "multipart/form-data; boundary=x",
      "application/jsonp",
      "application/json-seq",
      "text/json",
      "application/xml",
      "json",
      "*/*",
      "",
    );
    const before = await d1Snapshot();
    await fc.assert(
      fc.asyncProperty(contentType, fc.constantFrom(...ROUTES), async (type, route) => {
        const headers: Record<string, string> = type ? { "content-type": type } : {};
        const res = await call(route.method, route.path(), {
          token: route.token(),
          rawBody: JSON.stringify(route.valid()),
          headers,
        });
        figures.add("inputs");
        expectApiError(res, `${route.name} as ${type || "(no type)"}`, 400);
      }),
      { numRuns: 40, endOnFailure: true },
    );
    expect(await d1Snapshot()).toBe(before);
  });

  it("refuses streamed bodies (no Content-Length) over the cap with 413", async () => {
    const before = await d1Snapshot();
    for (const route of ROUTES) {
      const chunk = encoder.encode(`{"body":"${"x".repeat(16_000)}`);
      const stream = new ReadableStream<Uint8Array>({
        start(controller) {
          for (let i = 0; i < 6; i++) controller.enqueue(chunk);
          controller.close();
        },
      });
      const res = await call(route.method, route.path(), {
        token: route.token(),
        rawBody: stream,
        headers: { "content-type": "application/json" },
      });
      figures.add("inputs");
      expectApiError(res, `${route.name} streamed`, 413);
    }
    expect(await d1Snapshot()).toBe(before);
  });
});

/** Percent-encoding as a client would do it; a lone surrogate is sent as U+FFFD. */
const q = (value: string) => encodeURIComponent(safe(value));
const base64 = (text: string) => btoa(String.fromCharCode(...encoder.encode(text)));

describe("query and path parameters under fuzz", () => {
  it("answers every query to the read routes with 200 or a 4xx", async () => {
    const before = await d1Snapshot();
    const queries = fc.oneof(
      fc.tuple(hostileParam, hostileParam).map(([v, l]) => `/api/users?q=${q(v)}&limit=${q(l)}`),
      fc
        .tuple(hostileParam, hostileParam)
        .map(([l, cur]) => `/api/conversations?limit=${q(l)}&cursor=${q(cur)}`),
      fc.string({ maxLength: 60 }).map((cur) => `/api/conversations?cursor=${q(base64(cur))}`),
      fc
        .tuple(
          fc.constantFrom("before", "after", "limit"),
          hostileParam,
          fc.constantFrom("before", "after", "limit"),
          hostileParam,
        )
        .map(([k1, v1, k2, v2]) => `/api/conversations/${directId}/messages?${k1}=${q(v1)}&${k2}=${q(v2)}`),
    );
    await fc.assert(
      fc.asyncProperty(queries, async (path) => {
        const res = await call("GET", path, { token: a.token });
        figures.add("inputs");
        if (res.status === 200) {
          expectHardenedHeaders(res.headers);
          if (path.startsWith("/api/users?"))
            expect(res.body.users.every((u: { email?: string }) => u.email === undefined)).toBe(true);
        } else {
          expect(expectApiError(res, path)).toBe("validation_failed");
        }
      }),
      { numRuns: 150, endOnFailure: true },
    );
    expect(await d1Snapshot()).toBe(before);
  });

  it("answers hostile ids in every path with a 4xx, never touching someone else's data", async () => {
    const before = await d1Snapshot();
    const paths = fc.oneof(
      hostileParam.map((id) => ["GET", `/api/users/${q(id)}`] as const),
      fc
        .tuple(fc.constantFrom("GET", "DELETE"), hostileParam)
        .map(([m, id]) => [m, `/api/conversations/${q(id)}`] as const),
      hostileParam.map((id) => ["GET", `/api/conversations/${q(id)}/messages`] as const),
      hostileParam.map((id) => ["POST", `/api/conversations/${q(id)}/read`] as const),
      fc
        .tuple(fc.constantFrom("PATCH", "DELETE"), hostileParam)
        .map(([m, id]) => [m, `/api/conversations/${directId}/messages/${q(id)}`] as const),
      hostileParam.map((rest) => ["GET", `/api/${q(rest)}`] as const),
    );
    await fc.assert(
      fc.asyncProperty(paths, async ([method, path]) => {
        const body = method === "POST" ? { seq: 1 } : method === "PATCH" ? { body: "x" } : undefined;
        const res = await call(method, path, { token: a.token, body });
        figures.add("inputs");
        // An id that happens to be a real one (an empty id lists /api/users) is a read.
        if (res.status === 200 && method === "GET") return;
        expect(expectApiError(res, `${method} ${path}`)).toMatch(/^(not_found|validation_failed)$/);
      }),
      { numRuns: 120, endOnFailure: true },
    );
    expect(await d1Snapshot()).toBe(before);
  });

  it("takes a reaction for one emoji or a short name in the path, and answers anything else 422", async () => {
    const emoji = fc.oneof(
      hostileString,
      fc.constantFrom("👍", "👍🏽", "🇫🇷", "👨‍👩‍👧", "❤️", "+1", "a_b", "👍👍", "A", "😀\u0000", "x".repeat(33)),
      fc.string({ unit: "grapheme", minLength: 1, maxLength: 2 }),
    );
    await fc.assert(
      fc.asyncProperty(emoji, fc.constantFrom("PUT", "DELETE"), async (value, method) => {
        // What the router decodes: lone surrogates travel as U+FFFD (see q).
        const decoded = safe(value);
        const res = await call(method, reactionPath(value), { token: b.token });
        figures.add("inputs");
        if (!isReactionEmoji(decoded)) {
          // Dot segments and empty ones change the path itself: no route, 404.
          expect(expectApiError(res, `${method} reaction ${show(value)}`)).toMatch(
            /^(validation_failed|not_found)$/,
          );
          return;
        }
        expect(res.status, show(value)).toBe(204);
        // Taken back at once, so the message never reaches its cap of different emoji.
        if (method === "PUT")
          expect((await call("DELETE", reactionPath(value), { token: b.token })).status).toBe(204);
      }),
      { numRuns: 150, endOnFailure: true },
    );
  });

  it("answers hostile participant ids with a 4xx, removing nobody", async () => {
    const before = await d1Snapshot();
    await fc.assert(
      // Dot segments are resolved by the URL itself (they would name the conversation, not a person).
      fc.asyncProperty(
        hostileParam.filter((id) => !/^(\.|%2e){1,2}$/i.test(id)),
        async (id) => {
          const res = await call("DELETE", `/api/conversations/${group}/participants/${q(id)}`, {
            token: a.token,
          });
          figures.add("inputs");
          expect(expectApiError(res, `remove ${show(id)}`)).toMatch(/^(not_found|validation_failed)$/);
        },
      ),
      { numRuns: 80, endOnFailure: true },
    );
    expect(await d1Snapshot()).toBe(before);
  });

  it("answers every malformed Authorization header with 401", async () => {
    const header = fc.oneof(
      hostileString,
      hostileString.map((s) => `Bearer ${s}`),
      fc.constantFrom(
        "Bearer",
        "Bearer ",
        "bearer x.y.z",
        "Basic YTpi",
        "Bearer a.b",
        "Bearer ....",
        `Bearer ${"a".repeat(9000)}`,
      ),
      fc.base64String({ maxLength: 200 }).map((s) => `Bearer ${s}.${s}.${s}`),
    );
    await fc.assert(
      fc.asyncProperty(
        header,
        fc.constantFrom("/api/me", "/api/conversations", `/api/conversations/${directId}`),
        async (value, path) => {
          // Headers cannot carry CR, LF or NUL, nor code points above U+00FF; the client refuses those itself.
          // oxlint-disable-next-line no-control-regex -- finding control characters is the point
          if (/[\r\n\u0000]|[^\u0000-\u00ff]/.test(value)) return;
          const res = await call("GET", path, { headers: { authorization: value } });
          figures.add("inputs");
          expect(expectApiError(res, `Authorization: ${value.slice(0, 80)}`, 401)).toBe("unauthorized");
        },
      ),
      { numRuns: 80, endOnFailure: true },
    );
  });
});
