import { env } from "cloudflare:workers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { limitsFrom } from "../../src/config";
import { type TestUser, registerUser, startConversation } from "../helpers/api";
import { ofType, openSocket } from "../helpers/socket";
import { call } from "../helpers/call";
import { Figures, d1Snapshot, expectApiError } from "../helpers/checks";

/**
 * The caps a client meets before the server does any work for it: the body cap, and the caps on
 * participants, titles, names, avatar URLs and message bodies.
 */

const figures = new Figures("caps");
const json = { "content-type": "application/json" };
afterAll(() => figures.print());

describe("size and content caps", () => {
  let a: TestUser;
  let b: TestUser;
  let c: TestUser;
  beforeAll(async () => {
    a = await registerUser();
    b = await registerUser();
    c = await registerUser();
  });

  it("caps every body at MAX_BODY_BYTES before parsing it", async () => {
    const max = limitsFrom(env).maxBodyBytes;
    const { conversation } = await startConversation(a.token, [b.user.id]);
    const before = await d1Snapshot();
    const routes: [string, string][] = [
      ["POST", "/api/auth/register"],
      ["POST", "/api/auth/login"],
      ["PATCH", "/api/me"],
      ["POST", "/api/conversations"],
      ["POST", `/api/conversations/${conversation.id}/participants`],
      ["POST", `/api/conversations/${conversation.id}/messages`],
      ["PATCH", `/api/conversations/${conversation.id}/messages/m_x`],
      ["POST", `/api/conversations/${conversation.id}/read`],
    ];
    for (const [method, path] of routes) {
      // One byte over, and not even JSON: refused on its length alone.
      const res = await call(method, path, { token: a.token, rawBody: "{".repeat(max + 1), headers: json });
      figures.add("inputs");
      expect(expectApiError(res, `${method} ${path}`, 413)).toBe("payload_too_large");
    }
    expect(await d1Snapshot()).toBe(before);
  });

  it("refuses more participant ids than MAX_GROUP_SIZE in the schema, before any database work", async () => {
    // MAX_GROUP_SIZE itself, reached by real users, is a test of the limits project (test/limits/).
    const ids = Array.from(
      { length: limitsFrom(env).maxGroupSize + 1 },
      (_, i) => `u_${String(i).padStart(20, "0")}`,
    );
    const huge = await call("POST", "/api/conversations", { token: a.token, body: { participantIds: ids } });
    expect(expectApiError(huge, "1001 participants", 422)).toBe("validation_failed");
    figures.add("inputs");
  });

  it("caps titles and names, and refuses invisible, control and direction-override characters in them", async () => {
    const { maxTitleChars, maxNameChars } = limitsFrom(env);
    const bad = [
      "x".repeat(maxTitleChars + 1),
      "\u202Eevil",
      "a\u2066b",
      "a\u0000b",
      "line\nbreak",
      "\u200b\u200b",
      "\ud800",
    ];
    for (const title of bad) {
      const res = await call("POST", "/api/conversations", {
        token: a.token,
        body: { participantIds: [b.user.id, c.user.id], title },
      });
      figures.add("inputs");
      expect(expectApiError(res, `title ${JSON.stringify(title).slice(0, 40)}`, 422)).toBe(
        "validation_failed",
      );
    }
    const ok = await call("POST", "/api/conversations", {
      token: a.token,
      body: { participantIds: [b.user.id, c.user.id], title: "x".repeat(maxTitleChars) },
    });
    expect(ok.status).toBe(201);
    for (const firstName of ["n".repeat(maxNameChars + 1), "Ann\u202E", "\u0007", "\u200b"]) {
      const res = await call("PATCH", "/api/me", { token: a.token, body: { firstName } });
      figures.add("inputs");
      expect(expectApiError(res, `name ${JSON.stringify(firstName).slice(0, 40)}`, 422)).toBe(
        "validation_failed",
      );
    }
    // Scripts that need no override characters are names like any other.
    for (const firstName of ["Ада", "أحمد", "李", "Zoë", "José"]) {
      expect((await call("PATCH", "/api/me", { token: a.token, body: { firstName } })).body.firstName).toBe(
        firstName,
      );
    }
  });

  it("accepts only http and https avatar URLs, and stores them as parsed", async () => {
    const max = limitsFrom(env).maxAvatarUrlChars;
    const bad = [
      "javascript:alert(1)",
      "JaVaScRiPt:alert(1)",
      " javascript:alert(1)",
      "java\tscript:alert(1)",
      "data:image/svg+xml,<svg onload=alert(1)>",
      "vbscript:msgbox(1)",
      "file:///etc/passwd",
      "ftp://example.com/a.png",
      "//evil.example/a.png",
      "/relative.png",
      "https://",
      "not a url",
      `https://example.com/${"a".repeat(max)}`,
    ];
    for (const avatarUrl of bad) {
      const res = await call("PATCH", "/api/me", { token: a.token, body: { avatarUrl } });
      figures.add("inputs");
      expect(expectApiError(res, `avatar ${avatarUrl.slice(0, 40)}`, 422)).toBe("validation_failed");
      const reg = await call("POST", "/api/auth/register", {
        body: {
          email: `av-${crypto.randomUUID()}@example.com`,
          password: "long enough pw",
          firstName: "A",
          lastName: "V",
          avatarUrl,
        },
      });
      figures.add("inputs");
      expect(reg.status).toBe(422);
    }
    const good = await call("PATCH", "/api/me", {
      token: a.token,
      body: { avatarUrl: "  HTTPS://Example.COM/a b.png " },
    });
    expect(good.body.avatarUrl).toBe("https://example.com/a%20b.png");
    expect(
      (await call("PATCH", "/api/me", { token: a.token, body: { avatarUrl: "http://example.com/a.png" } }))
        .status,
    ).toBe(200);
    expect(
      (await call("PATCH", "/api/me", { token: a.token, body: { avatarUrl: null } })).body.avatarUrl,
    ).toBeNull();
  });

  it("refuses message bodies that are empty, too long, or carry NUL, control characters or unpaired surrogates", async () => {
    const { conversation } = await startConversation(a.token, [b.user.id]);
    const sa = await openSocket(`/api/conversations/${conversation.id}/ws`, { token: a.token });
    await sa.next(ofType("ready"));
    const bad = [
      "",
      "   ",
      "\u200b",
      "x".repeat(limitsFrom(env).maxMessageChars + 1),
      "a\u0000b",
      "\u001b[2J",
      "lone \ud800",
      "\udc00",
    ];
    for (const [i, body] of bad.entries()) {
      const res = await call("POST", `/api/conversations/${conversation.id}/messages`, {
        token: a.token,
        body: { body },
      });
      expect(expectApiError(res, `body ${i}`, 422)).toBe("validation_failed");
      sa.send({ type: "send", body, clientId: `bad-${i}` });
      expect(await sa.next(ofType("error"))).toMatchObject({
        code: "validation_failed",
        clientId: `bad-${i}`,
      });
      figures.add("inputs", 2);
    }
    // Tabs, newlines, RTL text with its marks, emoji and combining marks are text.
    const fine = "line one\n\tline two — שלום \u200f עולם 👩‍👩‍👧‍👦 e\u0301";
    sa.send({ type: "send", body: fine, clientId: "fine" });
    expect((await sa.next(ofType("ack"))).message.body).toBe(fine);
    const history = await call("GET", `/api/conversations/${conversation.id}/messages`, { token: b.token });
    expect(history.body.messages.map((m: { body: string }) => m.body)).toEqual([fine]);
    sa.close();
  });
});
