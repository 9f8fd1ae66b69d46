import { runDurableObjectAlarm } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { AwayNotice } from "../../src/durable/inbox/away-push";
import type { Conversation, Message, User } from "../../src/protocol/models";
import { PushPayloadSchema } from "../../src/protocol/responses";
import { call } from "../helpers/call";
import { type TestUser, api, registerUser, sendMessage, startConversation } from "../helpers/api";
import { type PushClient, expirePushClient, newPushClient, receivedPushes } from "../helpers/push-service";
import { ofType, openSocket } from "../helpers/socket";
import { until } from "../helpers/wait";

const inbox = (user: TestUser) => env.USER_INBOX.getByName(user.user.id);
const userOf = (u: TestUser): User => ({ ...u.user, avatarUrl: null });

async function vapidKey(token: string): Promise<string> {
  const res = await api<{ key: string }>("GET", "/api/push/vapid-public-key", { token });
  expect(res.status).toBe(200);
  return res.body.key;
}

/** A subscription at the local push service, registered for `user` as the web client does it. */
async function subscribe(user: TestUser): Promise<PushClient> {
  const client = await newPushClient(await vapidKey(user.token));
  const res = await api("POST", "/api/push/subscriptions", {
    token: user.token,
    body: { endpoint: client.endpoint, keys: client.keys },
  });
  expect(res.status, res.text).toBe(201);
  return client;
}

/** Waits for `count` pushes to be received and decrypted, and checks each against the payload schema. */
async function pushesFor(
  client: PushClient,
  count: number,
): Promise<{ conversationId: string; title: string; body: string }[]> {
  let pushes: unknown[] = [];
  await until(`${count} push(es) at the push service`, async () => {
    pushes = await receivedPushes(client);
    return pushes.length >= count;
  });
  return pushes.map((p) => PushPayloadSchema.parse(p));
}

/** Keys a browser would send: a real P-256 public point and a 16-byte secret, base64url. */
async function browserKeys(): Promise<{ p256dh: string; auth: string }> {
  const pair = (await crypto.subtle.generateKey({ name: "ECDH", namedCurve: "P-256" }, true, [
    "deriveBits",
  ])) as CryptoKeyPair;
  const point = new Uint8Array((await crypto.subtle.exportKey("raw", pair.publicKey)) as ArrayBuffer);
  return { p256dh: b64url(point), auth: b64url(crypto.getRandomValues(new Uint8Array(16))) };
}

function b64url(bytes: Uint8Array): string {
  return btoa(String.fromCharCode(...bytes))
    .replace(/\+/g, "-")
    .replace(/\//g, "_")
    .replace(/=+$/, "");
}

describe("push subscriptions", () => {
  it("gives a signed-in user the VAPID public key, and nobody else", async () => {
    const a = await registerUser();
    const key = await vapidKey(a.token);
    expect(key).toBe(env.VAPID_PUBLIC_KEY);
    expect((await api("GET", "/api/push/vapid-public-key")).status).toBe(401);
  });

  it("subscribes and unsubscribes a browser: 201, then 204, kept by the user's inbox in between", async () => {
    const a = await registerUser();
    const endpoint = `https://push.example.com/send/${crypto.randomUUID()}`;
    const keys = await browserKeys();
    const created = await api("POST", "/api/push/subscriptions", {
      token: a.token,
      body: { endpoint, expirationTime: null, keys },
    });
    expect(created.status).toBe(201);
    expect(await inbox(a).pushEndpoints()).toEqual([endpoint]);
    // The same browser again (renewed keys) is the same subscription.
    await api("POST", "/api/push/subscriptions", {
      token: a.token,
      body: { endpoint, keys: await browserKeys() },
    });
    expect(await inbox(a).pushEndpoints()).toEqual([endpoint]);
    const removed = await api("DELETE", "/api/push/subscriptions", { token: a.token, body: { endpoint } });
    expect(removed.status).toBe(204);
    expect(removed.text).toBe("");
    expect(await inbox(a).pushEndpoints()).toEqual([]);
    // Removing what is not there is not an error.
    expect(
      (await api("DELETE", "/api/push/subscriptions", { token: a.token, body: { endpoint } })).status,
    ).toBe(204);
  });

  it("refuses bad subscriptions with 422 and missing tokens with 401, storing nothing", async () => {
    const a = await registerUser();
    const keys = await browserKeys();
    const endpoint = "https://push.example.com/send/abc";
    const point = Uint8Array.from({ length: 65 }, () => 7); // 65 bytes, but not 0x04-prefixed
    const bad: [string, unknown][] = [
      ["plain http", { endpoint: "http://push.example.com/send/abc", keys }],
      ["not a URL", { endpoint: "push service", keys }],
      ["javascript: URL", { endpoint: "javascript:alert(1)", keys }],
      ["credentials in the URL", { endpoint: "https://user:pw@push.example.com/x", keys }],
      ["endpoint too long", { endpoint: `https://push.example.com/${"a".repeat(1100)}`, keys }],
      ["short p256dh", { endpoint, keys: { ...keys, p256dh: keys.p256dh.slice(0, 40) } }],
      ["p256dh not a point", { endpoint, keys: { ...keys, p256dh: b64url(point) } }],
      ["p256dh not base64", { endpoint, keys: { ...keys, p256dh: "!".repeat(87) } }],
      ["auth of 15 bytes", { endpoint, keys: { ...keys, auth: b64url(new Uint8Array(15)) } }],
      ["auth missing", { endpoint, keys: { p256dh: keys.p256dh } }],
      ["keys missing", { endpoint }],
      ["unknown field", { endpoint, keys, extra: 1 }],
      ["a number", 42],
    ];
    for (const [what, body] of bad) {
      const res = await api("POST", "/api/push/subscriptions", { token: a.token, body });
      expect(res.status, what).toBe(422);
      expect(res.body.error.code, what).toBe("validation_failed");
    }
    expect((await api("DELETE", "/api/push/subscriptions", { token: a.token, body: {} })).status).toBe(422);
    expect(await inbox(a).pushEndpoints()).toEqual([]);
    const body = { endpoint, keys };
    expect((await api("POST", "/api/push/subscriptions", { body })).status).toBe(401);
    expect((await api("DELETE", "/api/push/subscriptions", { body: { endpoint } })).status).toBe(401);
    expect((await api("POST", "/api/push/subscriptions", { token: "garbage", body })).status).toBe(401);
  });

  it("keeps at most PUSH_MAX_SUBSCRIPTIONS per user, a new browser replacing the oldest", async () => {
    const a = await registerUser();
    const max = Number(env.PUSH_MAX_SUBSCRIPTIONS);
    const endpoints = Array.from({ length: max + 2 }, (_, i) => `https://push.example.com/send/${i}`);
    for (const endpoint of endpoints) {
      const res = await api("POST", "/api/push/subscriptions", {
        token: a.token,
        body: { endpoint, keys: await browserKeys() },
      });
      expect(res.status).toBe(201);
    }
    expect(await inbox(a).pushEndpoints()).toEqual(endpoints.slice(2));
  });

  it("answers 503 on every push route without VAPID keys, while chatting works", async () => {
    const a = await registerUser();
    const b = await registerUser();
    const off = { VAPID_PRIVATE_KEY: "" };
    const key = await call("GET", "/api/push/vapid-public-key", { token: a.token, env: off });
    expect(key.status).toBe(503);
    expect(key.body.error).toMatchObject({
      code: "unavailable",
      message: expect.stringContaining("not configured"),
    });
    const body = { endpoint: "https://push.example.com/x", keys: await browserKeys() };
    expect((await call("POST", "/api/push/subscriptions", { token: a.token, body, env: off })).status).toBe(
      503,
    );
    const { conversation } = await startConversation(a.token, [b.user.id]);
    const sent = await call("POST", `/api/conversations/${conversation.id}/messages`, {
      token: a.token,
      body: { body: "still works" },
      env: off,
    });
    expect(sent.status).toBe(201);
  });
});

describe("web push to people who are away", () => {
  it("pushes a message to a participant with no socket open: the push service decrypts its conversation and text", async () => {
    const a = await registerUser("Ann", "Lee");
    const b = await registerUser("Bob", "Ray");
    const pushB = await subscribe(b);
    const { conversation } = await startConversation(a.token, [b.user.id]);
    await sendMessage(a.token, conversation.id, "Lunch at  noon?\nBring the slides");
    const [push] = await pushesFor(pushB, 1);
    expect(push).toEqual({
      conversationId: conversation.id,
      title: "Ann Lee",
      body: "Lunch at noon? Bring the slides",
    });
  });

  it("cuts the text of a push to PUSH_SNIPPET_CHARS and names the sender in a group", async () => {
    const a = await registerUser("Ann", "Lee");
    const b = await registerUser("Bob", "Ray");
    const c = await registerUser("Cy", "Moe");
    const pushB = await subscribe(b);
    const { conversation } = await startConversation(a.token, [b.user.id, c.user.id], { title: "Plans" });
    await sendMessage(a.token, conversation.id, "x".repeat(500));
    const [push] = await pushesFor(pushB, 1);
    const max = Number(env.PUSH_SNIPPET_CHARS);
    expect(push?.title).toBe("Plans");
    expect(push?.body.startsWith("Ann: xxx")).toBe(true);
    expect(Array.from(push?.body ?? "")).toHaveLength(max);
    expect(push?.body.endsWith("…")).toBe(true);
  });

  it("sends one push per conversation per interval: a second message soon after sends nothing", async () => {
    const a = await registerUser();
    const b = await registerUser();
    const pushB = await subscribe(b);
    const { conversation } = await startConversation(a.token, [b.user.id]);
    await sendMessage(a.token, conversation.id, "first");
    await pushesFor(pushB, 1);
    await sendMessage(a.token, conversation.id, "second");
    // Once B's inbox has heard of a third message (through a socket B opens now), it had heard of
    // the second before it: notices of one room reach an inbox in order.
    const ib = await openSocket("/api/inbox/ws", { token: b.token });
    await ib.next(ofType("ready"));
    await sendMessage(a.token, conversation.id, "third");
    await ib.next((e) => e.type === "conversation.updated" && e.conversation.lastSeq === 3);
    await runDurableObjectAlarm(inbox(b)); // sends anything still queued
    expect((await receivedPushes(pushB)).map((p) => p.body)).toEqual(["first"]);
    ib.close();
  });

  it("sends nothing to a user who has an inbox socket open", async () => {
    const a = await registerUser();
    const b = await registerUser();
    const pushB = await subscribe(b);
    const ib = await openSocket("/api/inbox/ws", { token: b.token });
    await ib.next(ofType("ready"));
    const { conversation } = await startConversation(a.token, [b.user.id]);
    await sendMessage(a.token, conversation.id, "you are here");
    await ib.next((e) => e.type === "conversation.updated" && e.conversation.lastSeq === 1);
    // The alarm is set (for the socket's token expiry); running it would send any queued push.
    await runDurableObjectAlarm(inbox(b));
    expect(await receivedPushes(pushB)).toEqual([]);
    ib.close();
  });

  it("never pushes a user's own message", async () => {
    const a = await registerUser();
    const b = await registerUser();
    const pushB = await subscribe(b);
    const { conversation } = await startConversation(a.token, [b.user.id]);
    await sendMessage(b.token, conversation.id, "mine");
    await sendMessage(a.token, conversation.id, "theirs");
    // Had "mine" been pushed, it would have come first, and "theirs" within the interval not at all.
    expect((await pushesFor(pushB, 1)).map((p) => p.body)).toEqual(["theirs"]);
    await runDurableObjectAlarm(inbox(b));
    expect((await receivedPushes(pushB)).map((p) => p.body)).toEqual(["theirs"]);
  });

  it("never pushes a conversation the user muted, and pushes again once it is unmuted", async () => {
    const a = await registerUser();
    const b = await registerUser();
    const pushB = await subscribe(b);
    const muted = (await startConversation(a.token, [b.user.id])).conversation;
    const settings = `/api/conversations/${muted.id}/settings`;
    expect((await api("PATCH", settings, { token: b.token, body: { muted: true } })).body.muted).toBe(true);
    await sendMessage(a.token, muted.id, "muted");
    // A message of another conversation shows the inbox was told and pushed in the meantime.
    const c = await registerUser();
    const other = (await startConversation(c.token, [b.user.id])).conversation;
    await sendMessage(c.token, other.id, "not muted");
    expect((await pushesFor(pushB, 1)).map((p) => p.body)).toEqual(["not muted"]);
    await runDurableObjectAlarm(inbox(b));
    await api("PATCH", settings, { token: b.token, body: { muted: false } });
    await sendMessage(a.token, muted.id, "unmuted");
    expect((await pushesFor(pushB, 2)).map((p) => p.body)).toEqual(["not muted", "unmuted"]);
  });

  it("deletes a subscription the push service answers 410 for, and keeps the others", async () => {
    const a = await registerUser();
    const b = await registerUser();
    const gone = await subscribe(b);
    const kept = await subscribe(b);
    await expirePushClient(gone);
    const { conversation } = await startConversation(a.token, [b.user.id]);
    await sendMessage(a.token, conversation.id, "anyone there?");
    expect((await pushesFor(kept, 1))[0]?.body).toBe("anyone there?");
    await until("the expired subscription to be deleted", async () => {
      const endpoints = await inbox(b).pushEndpoints();
      return !endpoints.includes(gone.endpoint);
    });
    expect(await inbox(b).pushEndpoints()).toEqual([kept.endpoint]);
  });

  describe("the inbox's decision (notifyAway, what rooms call)", () => {
    let seq = 0;
    function notice(
      conversationId: string,
      sender: TestUser,
      recipient: TestUser,
      extra: { unreadCount?: number; deleted?: boolean; muted?: boolean; mutedView?: boolean } = {},
    ): AwayNotice {
      seq++;
      const now = new Date().toISOString();
      const message: Message = {
        id: `m_${seq}`,
        conversationId,
        seq,
        sender: userOf(sender),
        body: extra.deleted ? "" : `message ${seq}`,
        clientId: null,
        createdAt: now,
        editedAt: null,
        deletedAt: extra.deleted ? now : null,
        replyTo: null,
        reactions: [],
        attachments: [],
        system: false,
      };
      const conversation: Conversation = {
        id: conversationId,
        kind: "direct",
        title: null,
        createdBy: sender.user.id,
        participants: [userOf(sender), userOf(recipient)],
        participantCount: 2,
        createdAt: now,
        updatedAt: now,
        lastSeq: seq,
        lastMessage: message,
        unreadCount: extra.unreadCount ?? 1,
        lastReadSeq: seq - (extra.unreadCount ?? 1),
        muted: extra.mutedView ?? false,
        reads: [],
      };
      return extra.muted ? { conversation, muted: true } : { conversation };
    }

    it("queues only new, unread messages of others in conversations not muted, once per interval", async () => {
      const a = await registerUser();
      const b = await registerUser();
      const pushB = await subscribe(b);
      const stub = inbox(b);
      const one = `c_${crypto.randomUUID()}`;
      const first = notice(one, a, b);
      expect(await stub.notifyAway(first)).toBe("queued");
      expect(await stub.notifyAway(first)).toBe("seen"); // the same notice again
      expect(await stub.notifyAway(notice(one, a, b))).toBe("too_soon");
      expect(await stub.notifyAway(notice(one, b, b))).toBe("own_message");
      expect(await stub.notifyAway(notice(`c_${crypto.randomUUID()}`, a, b, { muted: true }))).toBe("muted");
      // The member's own view says so (what rooms send in `conversation.updated`).
      expect(await stub.notifyAway(notice(`c_${crypto.randomUUID()}`, a, b, { mutedView: true }))).toBe(
        "muted",
      );
      expect(await stub.notifyAway(notice(`c_${crypto.randomUUID()}`, a, b, { unreadCount: 0 }))).toBe(
        "read",
      );
      expect(await stub.notifyAway(notice(`c_${crypto.randomUUID()}`, a, b, { deleted: true }))).toBe(
        "deleted",
      );
      await runDurableObjectAlarm(stub);
      expect(await pushesFor(pushB, 1)).toEqual([
        {
          conversationId: one,
          title: `${a.user.firstName} ${a.user.lastName}`,
          body: `message ${first.conversation.lastSeq}`,
        },
      ]);
      const ib = await openSocket("/api/inbox/ws", { token: b.token });
      await ib.next(ofType("ready"));
      expect(await stub.notifyAway(notice(`c_${crypto.randomUUID()}`, a, b))).toBe("socket_open");
      ib.close();
      await runDurableObjectAlarm(stub);
      expect(await receivedPushes(pushB)).toHaveLength(1);
    });

    it("does nothing for a user without subscriptions", async () => {
      const a = await registerUser();
      const b = await registerUser();
      expect(await inbox(b).notifyAway(notice(`c_${crypto.randomUUID()}`, a, b))).toBe("no_subscriptions");
      expect(await runDurableObjectAlarm(inbox(b))).toBe(false);
    });
  });
});
