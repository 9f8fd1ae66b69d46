import { runDurableObjectAlarm } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { Message, User } from "../../src/protocol/models";
import { type TestUser, api, registerUser, sendMessage, startConversation } from "../helpers/api";
import { d1MessageRows, historyDbOf, shardNameOf } from "../helpers/d1";
import { drainOutbox, fullHistory } from "../helpers/rooms";
import { found, uniqueWord } from "../helpers/search";
import { until } from "../helpers/wait";

/**
 * Deleting an account (DELETE /api/me) in this project: rooms keep a tail of 5 messages, older ones
 * are only in the conversation's shard; the deletion visits 2 rooms per step and each room erases 3
 * messages per visit, so it takes many steps of the user's inbox alarm; a failed step is retried
 * only when the test runs that alarm (ACCOUNT_ERASE_RETRY_MS is an hour here).
 */

afterEach(() => {
  vi.restoreAllMocks();
});

const inboxOf = (user: TestUser) => env.USER_INBOX.getByName(user.user.id);

/** A conversation of `a` and `b` with `count` messages, alternating from `a`, each with `word`. */
async function chat(a: TestUser, b: TestUser, word: string, count: number, title?: string) {
  const { conversation } = await startConversation(a.token, [b.user.id], title ? { title } : {});
  for (let i = 1; i <= count; i++) {
    await sendMessage(i % 2 ? a.token : b.token, conversation.id, `${word} number ${i}`);
  }
  await drainOutbox(conversation.id, count);
  return conversation.id;
}

/** Whether every message of `userId` in the history is a tombstone, and nobody else's is. */
function erasedIn(history: Message[], userId: string): boolean {
  return history.every((m) => (m.sender?.id === userId) === (m.deletedAt !== null));
}

/** The history as `reader` sees it, and D1's shard rows, once the deletion reached both. */
async function expectErased(id: string, reader: TestUser, userId: string): Promise<Message[]> {
  await until(
    `${userId}'s messages in ${id} to be tombstones`,
    async () => erasedIn(await fullHistory(id, reader.token), userId),
    10_000,
  );
  const history = await fullHistory(id, reader.token);
  for (const m of history.filter((h) => h.sender?.id === userId)) {
    expect(m).toMatchObject({ body: "", deletedAt: expect.any(String) });
    expect(m.sender).toMatchObject({ firstName: "Deleted user", lastName: "", avatarUrl: null });
  }
  await until(
    `the shard to hold ${id}'s tombstones`,
    async () => {
      const rows = await d1MessageRows(id);
      return rows.length === history.length && rows.every((r, i) => r.body === history[i]?.body);
    },
    10_000,
  );
  return history;
}

/** Counts the deletion's failed room visits, as the log reports them. */
function countRoomFailures(): () => number {
  let failures = 0;
  const warn = console.warn.bind(console);
  vi.spyOn(console, "warn").mockImplementation((...args: unknown[]) => {
    const line = args.map(String).join(" ");
    if (line.includes('"account_erase_room_failed"')) failures++;
    else warn(...args);
  });
  return () => failures;
}

describe("deleting an account", () => {
  it("turns messages older than the room's tail into tombstones in the shard too, and search stops finding them", async () => {
    const [ada, bob, cy] = await Promise.all([
      registerUser("Ada", "Erase"),
      registerUser("Bob", "Erase"),
      registerUser("Cy", "Erase"),
    ]);
    const word = uniqueWord("heron");
    const withBob = await chat(ada, bob, word, 14);
    const withCy = await chat(ada, cy, word, 8);
    const group = await chat(ada, bob, word, 6, "Birdwatchers");
    expect(await found(bob.token, word, { limit: 50 })).toHaveLength(20);

    expect(
      (await api("DELETE", "/api/me", { token: ada.token, body: { password: ada.password } })).status,
    ).toBe(204);

    const bobsView = await expectErased(withBob, bob, ada.user.id);
    expect(bobsView.filter((m) => m.body !== "").map((m) => m.body)).toEqual(
      [2, 4, 6, 8, 10, 12, 14].map((i) => `${word} number ${i}`),
    );
    await expectErased(withCy, cy, ada.user.id);
    await expectErased(group, bob, ada.user.id);
    await until("search to find only what others wrote", async () => {
      const bodies = await found(bob.token, word, { limit: 50 });
      return bodies.length === 10;
    });
    expect((await found(cy.token, word, { limit: 50 })).sort()).toEqual(
      [2, 4, 6, 8].map((i) => `${word} number ${i}`).sort(),
    );
  });

  it("recorded at once though the directory refuses it, is completed by the inbox's retry", async () => {
    const [ada, bob] = await Promise.all([registerUser("Ada", "Retry"), registerUser("Bob", "Retry")]);
    const word = uniqueWord("plover");
    const id = await chat(ada, bob, word, 8);
    await env.DB.prepare(
      "CREATE TRIGGER refuse_user_updates BEFORE UPDATE ON users BEGIN SELECT RAISE(FAIL, 'injected'); END",
    ).run();
    try {
      const warn = vi.spyOn(console, "warn").mockImplementation(() => undefined);
      expect(
        (await api("DELETE", "/api/me", { token: ada.token, body: { password: ada.password } })).status,
      ).toBe(204);
      expect(warn.mock.calls.some((c) => String(c[0]).includes('"account_erase_failed"'))).toBe(true);
      // Deleted from the first moment: the token is refused...
      expect((await api("GET", "/api/me", { token: ada.token })).status).toBe(401);
      // ...while the rest waits for the retry: the directory has the profile, the rooms her messages.
      expect((await api<User>("GET", `/api/users/${ada.user.id}`, { token: bob.token })).body.firstName).toBe(
        "Ada",
      );
      expect((await fullHistory(id, bob.token)).filter((m) => m.deletedAt !== null)).toEqual([]);
    } finally {
      await env.DB.prepare("DROP TRIGGER IF EXISTS refuse_user_updates").run();
    }

    expect(await runDurableObjectAlarm(inboxOf(ada))).toBe(true);
    await expectErased(id, bob, ada.user.id);
    expect((await api<User>("GET", `/api/users/${ada.user.id}`, { token: bob.token })).body).toEqual({
      id: ada.user.id,
      firstName: "Deleted user",
      lastName: "",
      avatarUrl: null,
    });
  });

  it("that fails midway at a shard, finishes the other rooms and completes on the inbox's retry", async () => {
    const [ada, bob, cy] = await Promise.all([
      registerUser("Ada", "Midway"),
      registerUser("Bob", "Midway"),
      registerUser("Cy", "Midway"),
    ]);
    const word = uniqueWord("avocet");
    const broken = await chat(ada, bob, word, 12);
    const brokenShard = await shardNameOf(broken);
    // A conversation of hers on the other shard (placement is by id: groups without her are tried
    // until one lands there, then she joins it), so she is in exactly two rooms.
    let other: string | undefined;
    for (let i = 0; i < 30 && other === undefined; i++) {
      const { conversation } = await startConversation(cy.token, [bob.user.id], { title: `probe ${i}` });
      if ((await shardNameOf(conversation.id)) !== brokenShard) other = conversation.id;
    }
    if (other === undefined) throw new Error("no conversation landed on the other shard");
    const joined = await api("POST", `/api/conversations/${other}/participants`, {
      token: cy.token,
      body: { userIds: [ada.user.id] },
    });
    expect(joined.status).toBe(200);
    await sendMessage(ada.token, other, `${word} elsewhere`);
    await sendMessage(cy.token, other, `${word} answered`);
    const db = await historyDbOf(broken);
    const failures = countRoomFailures();
    // The shard of one conversation fails: its older history cannot be read for a moment.
    await db.prepare("ALTER TABLE messages RENAME TO messages_away").run();
    try {
      expect(
        (await api("DELETE", "/api/me", { token: ada.token, body: { password: ada.password } })).status,
      ).toBe(204);
      await until("a room visit to fail", () => failures() > 0, 10_000);
      // The rooms on the working shard do not wait for the broken one.
      const otherId = other;
      await until("the other shard's room to be erased", async () =>
        erasedIn(await fullHistory(otherId, cy.token), ada.user.id),
      );
    } finally {
      await db.prepare("ALTER TABLE messages_away RENAME TO messages").run();
    }
    // Midway: the tail is erased, what only the shard holds is not, until the retry.
    const midway = await fullHistory(broken, bob.token);
    const oldest = midway[0];
    expect(oldest).toMatchObject({ seq: 1, body: `${word} number 1`, deletedAt: null });
    expect(midway.filter((m) => m.seq > 7 && m.sender?.id === ada.user.id).map((m) => m.body)).toEqual([
      "",
      "",
    ]);

    expect(await runDurableObjectAlarm(inboxOf(ada))).toBe(true);
    const after = await expectErased(broken, bob, ada.user.id);
    expect(after[0]).toMatchObject({ id: oldest?.id, body: "", deletedAt: expect.any(String) });
    await until("search to find none of hers", async () => {
      const bodies = await found(bob.token, word, { conversationId: broken, limit: 50 });
      return bodies.length === 6;
    });
  });
});
