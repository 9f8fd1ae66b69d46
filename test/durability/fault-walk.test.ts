import { runDurableObjectAlarm } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { Conversation } from "../../src/protocol/models";
import { type ApiResult, type TestUser, api, registerUser, startConversation } from "../helpers/api";
import { STACK, expectInternalError } from "../helpers/checks";
import { hideDirectory } from "../helpers/inbox";

/**
 * Every multi-step write, with D1's directory failing at step k for each k: the k-th table the
 * write touches renamed (the real binding fails, in reads and writes alike), the request made, the
 * table put back, the request made again. Each time the API answers consistently (success, or a
 * 500 `internal` without a stack; never half of a write seen as done), and the retry completes it:
 * every participant sees the same membership, their inboxes list it once, and D1's directory
 * catches up with the room.
 */

interface Walk<Ctx> {
  /** Directory tables the write touches, in the order it touches them. */
  tables: readonly string[];
  setup(): Promise<Ctx>;
  act(ctx: Ctx): Promise<ApiResult<any>>;
  /** Whether the answer may be this status (besides the 500 of a failed step). */
  answers: readonly number[];
  /** After the retry: everything of the write is there, once. */
  complete(ctx: Ctx, retry: ApiResult<any>): Promise<void>;
}

function expectConsistentAnswer(res: ApiResult<any>, answers: readonly number[], context: string): void {
  expect(res.text, context).not.toMatch(STACK);
  if (res.status === 500) expectInternalError(res, context);
  else expect(answers, `${context}: ${res.status} ${res.text}`).toContain(res.status);
}

async function walk<Ctx>(w: Walk<Ctx>): Promise<void> {
  for (const [k, table] of w.tables.entries()) {
    const context = `step ${k + 1} (${table}) failing`;
    const ctx = await w.setup();
    const restore = await hideDirectory([table]);
    let first: ApiResult<any>;
    try {
      first = await w.act(ctx);
    } finally {
      await restore();
    }
    expectConsistentAnswer(first, w.answers, context);
    const retry = await w.act(ctx);
    expectConsistentAnswer(retry, w.answers, `${context}, then retried`);
    expect(retry.status, `${context}, then retried: ${retry.text}`).not.toBe(500);
    await w.complete(ctx, retry);
  }
}

const view = (token: string, id: string) => api<Conversation>("GET", `/api/conversations/${id}`, { token });

async function inboxIds(token: string): Promise<string[]> {
  const res = await api<{ conversations: Conversation[] }>("GET", "/api/conversations?limit=50", { token });
  return res.body.conversations.map((c) => c.id);
}

/** D1's directory rows of a conversation's participants, polled (the room's outbox copies them). */
async function directoryMembers(id: string, expected: string[]): Promise<string[]> {
  const room = env.CONVERSATION_ROOM.getByName(id);
  const want = [...expected].sort();
  let active: string[] = [];
  for (let i = 0; i < 50; i++) {
    const rows = await env.DB.prepare(
      "SELECT user_id FROM participants WHERE conversation_id = ? AND left_at IS NULL ORDER BY user_id",
    )
      .bind(id)
      .all<{ user_id: string }>();
    active = rows.results.map((r) => r.user_id);
    if (JSON.stringify(active) === JSON.stringify(want)) return active;
    await runDurableObjectAlarm(room);
    await new Promise((r) => setTimeout(r, 20));
  }
  return active;
}

/** Every person sees the conversation with exactly these members, and lists it once. */
async function expectMembers(id: string, members: TestUser[], gone: TestUser[] = []): Promise<void> {
  const ids = members.map((m) => m.user.id).sort();
  for (const m of members) {
    const res = await view(m.token, id);
    expect(res.status).toBe(200);
    expect(res.body.participants.map((p) => p.id).sort()).toEqual(ids);
    expect((await inboxIds(m.token)).filter((c) => c === id)).toHaveLength(1);
  }
  for (const g of gone) expect((await view(g.token, id)).status).toBe(404);
  expect(await directoryMembers(id, ids)).toEqual(ids);
}

describe("fault walk: D1's directory failing at each step of each multi-step write", () => {
  it("a direct conversation still works after any of its steps failed once, and stays one per pair", async () => {
    await walk({
      tables: ["users", "blocks", "conversations", "participants"],
      setup: async () => ({ a: await registerUser("Ann", "Walk"), b: await registerUser("Bob", "Walk") }),
      act: ({ a, b }) =>
        api("POST", "/api/conversations", {
          token: a.token,
          body: { participantIds: [b.user.id], body: "hello", clientId: "first" },
        }),
      answers: [200, 201],
      complete: async ({ a, b }, retry) => {
        const id: string = retry.body.conversation.id;
        await expectMembers(id, [a, b]);
        expect(await inboxIds(a.token)).toEqual([id]);
        const history = await api("GET", `/api/conversations/${id}/messages`, { token: b.token });
        expect(history.body.messages.map((m: { body: string }) => m.body)).toEqual(["hello"]);
      },
    });
  });

  it("a group is created whole or not at all when a step fails, and the retry creates it", async () => {
    await walk({
      tables: ["users", "blocks", "conversations", "participants"],
      setup: async () => {
        const [a, b, c] = await Promise.all([registerUser(), registerUser(), registerUser()]);
        return { a, b, c, created: [] as string[] };
      },
      act: async (ctx) => {
        const res = await api("POST", "/api/conversations", {
          token: ctx.a.token,
          body: { participantIds: [ctx.b.user.id, ctx.c.user.id], title: "walk" },
        });
        if (res.status === 201) ctx.created.push(res.body.conversation.id);
        // Not created: nobody lists a group.
        else expect(await inboxIds(ctx.b.token)).toEqual(ctx.created);
        return res;
      },
      answers: [201],
      complete: async ({ a, b, c, created }) => {
        for (const id of created) await expectMembers(id, [a, b, c]);
        expect((await inboxIds(c.token)).sort()).toEqual([...created].sort());
      },
    });
  });

  it("adding a participant completes on retry after any of its steps failed", async () => {
    await walk({
      tables: ["users", "blocks", "participants"],
      setup: async () => {
        const [a, b, c] = await Promise.all([registerUser(), registerUser(), registerUser()]);
        const { conversation } = await startConversation(a.token, [b.user.id], { title: "add" });
        return { a, b, c, id: conversation.id };
      },
      act: ({ a, c, id }) =>
        api("POST", `/api/conversations/${id}/participants`, {
          token: a.token,
          body: { userIds: [c.user.id] },
        }),
      answers: [200],
      complete: async ({ a, b, c, id }) => {
        await expectMembers(id, [a, b, c]);
      },
    });
  });

  it("leaving a group completes on retry after its step failed", async () => {
    await walk({
      tables: ["participants"],
      setup: async () => {
        const [a, b, c] = await Promise.all([registerUser(), registerUser(), registerUser()]);
        const { conversation } = await startConversation(a.token, [b.user.id, c.user.id], { title: "leave" });
        return { a, b, c, id: conversation.id };
      },
      act: ({ c, id }) => api("DELETE", `/api/conversations/${id}`, { token: c.token }),
      // A retry of a leave that was done: the conversation is not the caller's any more.
      answers: [204, 404],
      complete: async ({ a, b, c, id }) => {
        await expectMembers(id, [a, b], [c]);
        expect(await inboxIds(c.token)).toEqual([]);
      },
    });
  });

  it("removing a participant completes on retry after its step failed", async () => {
    await walk({
      tables: ["participants"],
      setup: async () => {
        const [a, b, c] = await Promise.all([registerUser(), registerUser(), registerUser()]);
        const { conversation } = await startConversation(a.token, [b.user.id, c.user.id], {
          title: "remove",
        });
        return { a, b, c, id: conversation.id };
      },
      act: ({ a, c, id }) =>
        api("DELETE", `/api/conversations/${id}/participants/${c.user.id}`, { token: a.token }),
      // A retry of a removal that was done: the user is not a participant any more.
      answers: [204, 404, 422],
      complete: async ({ a, b, c, id }) => {
        await expectMembers(id, [a, b], [c]);
        expect(await inboxIds(c.token)).toEqual([]);
      },
    });
  });

  it("a profile change reaches the rooms on retry after any of its steps failed", async () => {
    await walk({
      tables: ["users", "participants"],
      setup: async () => {
        const [a, b] = await Promise.all([registerUser("Ann", "Before"), registerUser()]);
        const { conversation } = await startConversation(a.token, [b.user.id]);
        return { a, b, id: conversation.id };
      },
      act: ({ a }) => api("PATCH", "/api/me", { token: a.token, body: { lastName: "After" } }),
      answers: [200],
      complete: async ({ a, b, id }) => {
        expect((await api("GET", "/api/me", { token: a.token })).body.lastName).toBe("After");
        // The rooms hear it in the background: polled.
        let lastName = "";
        for (let i = 0; i < 100 && lastName !== "After"; i++) {
          const res = await view(b.token, id);
          lastName = res.body.participants.find((p) => p.id === a.user.id)?.lastName ?? "";
          if (lastName !== "After") await new Promise((r) => setTimeout(r, 20));
        }
        expect(lastName).toBe("After");
      },
    });
  });
});
