import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { type BudgetSettings, Budgets, type LeaseGrant } from "../../src/durable/inbox/budgets";
import { Allowances } from "../../src/durable/room/allowance";
import { ApiError } from "../../src/errors";
import { newId } from "../../src/ids";
import { manualClock } from "./support";

const SETTINGS: BudgetSettings = {
  messages: { capacity: 10, windowMs: 60_000 },
  messageBytes: { capacity: 1000, windowMs: 60_000 },
  conversations: { capacity: 3, windowMs: 3_600_000 },
  uploadBytes: { capacity: 500, windowMs: 3_600_000 },
  profileUpdates: { capacity: 2, windowMs: 3_600_000 },
};

/** Budgets over the storage of an inbox object nobody uses (migrated by its constructor). */
function withBudgets<T>(fn: (budgets: Budgets, clock: ReturnType<typeof manualClock>) => T): Promise<T> {
  return runInDurableObject(env.USER_INBOX.getByName(newId("u")), (_instance, state) => {
    const clock = manualClock();
    return fn(new Budgets(state.storage.sql, SETTINGS, clock.now), clock);
  });
}

describe("per-user budgets", () => {
  it("allows no second burst across a window boundary: refills evenly, not all at once", async () => {
    await withBudgets((budgets, clock) => {
      let taken = 0;
      const burst = () => {
        while (budgets.spend("messages", 1).ok) taken++;
      };
      clock.advance(59_000);
      burst(); // just before a fixed minute would end
      clock.advance(2_000);
      burst(); // just after: a fixed window would allow 10 more
      expect(taken).toBe(10);
      clock.advance(30_000);
      burst();
      expect(taken).toBe(15);
    });
  });

  it("answers how long until the amount is there, at least a second", async () => {
    await withBudgets((budgets) => {
      expect(budgets.spend("uploadBytes", 400)).toEqual({ ok: true });
      // 300 missing at 500 per hour: 36 minutes.
      expect(budgets.spend("uploadBytes", 400)).toEqual({ ok: false, retryAfterSeconds: 2160 });
      // More than a full bucket waits for a full bucket, rather than forever.
      expect(budgets.spend("uploadBytes", 10_000)).toMatchObject({ ok: false });
    });
  });

  it("gives back a refund, never above a full bucket", async () => {
    await withBudgets((budgets) => {
      expect(budgets.spend("conversations", 3).ok).toBe(true);
      expect(budgets.spend("conversations", 1).ok).toBe(false);
      budgets.refund("conversations", 1);
      expect(budgets.spend("conversations", 1).ok).toBe(true);
      budgets.refund("conversations", 50);
      expect(budgets.level("conversations")).toBe(3);
    });
  });

  it("leases a batch of message tokens and bytes, at least what the waiting message needs", async () => {
    await withBudgets((budgets) => {
      expect(budgets.lease({ messages: 4, bytes: 100, needBytes: 300 })).toEqual({
        ok: true,
        messages: 4,
        bytes: 300,
      });
      expect(budgets.level("messages")).toBe(6);
      expect(budgets.level("messageBytes")).toBe(700);
      // Only what is there: 700 bytes, not 800.
      expect(budgets.lease({ messages: 4, bytes: 800, needBytes: 10 })).toEqual({
        ok: true,
        messages: 4,
        bytes: 700,
      });
      expect(budgets.lease({ messages: 4, bytes: 100, needBytes: 1 })).toMatchObject({ ok: false });
    });
  });
});

/** A stand-in for the user's object: hands out these grants in turn and records what was asked. */
function leaser(grants: LeaseGrant[]) {
  const calls: number[] = [];
  const asked: number[] = [];
  return {
    calls,
    asked,
    lease: async (_userId: string, request: { messages: number; needBytes: number }) => {
      calls.push(request.needBytes);
      asked.push(request.messages);
      const grant = grants.shift();
      if (!grant) throw new Error("no grant left");
      return grant;
    },
  };
}

describe("a room's allowance", () => {
  it("asks the user's object once per lease, not once per message", async () => {
    const fake = leaser([{ ok: true, messages: 7, bytes: 100 }]);
    const allowances = new Allowances(fake.lease, { messages: 7, bytes: 100, ms: 10_000 });
    const first = allowances.spend("u_ann", "hello");
    expect(first).not.toBeNull();
    await first;
    // The next two are paid from the lease at hand, synchronously.
    expect(allowances.spend("u_ann", "two")).toBeNull();
    expect(allowances.spend("u_ann", "three")).toBeNull();
    expect(fake.calls).toEqual([5]);
  });

  it("keeps a user's messages in order while a lease is asked for, and refuses with the wait", async () => {
    const fake = leaser([
      { ok: true, messages: 1, bytes: 10 },
      { ok: false, retryAfterSeconds: 7 },
    ]);
    const allowances = new Allowances(fake.lease, { messages: 1, bytes: 10, ms: 10_000 });
    const order: string[] = [];
    const one = allowances.spend("u_ann", "one")?.then(() => order.push("one"));
    // Asked while the first lease is on its way: waits behind it, even if it would fit.
    const two = allowances.spend("u_ann", "two");
    expect(two).not.toBeNull();
    const refused = two?.then(
      () => order.push("two"),
      (err: unknown) => {
        order.push("two refused");
        expect(err).toBeInstanceOf(ApiError);
        expect(err).toMatchObject({ code: "rate_limited", retryAfterSeconds: 7 });
      },
    );
    await Promise.all([one, refused]);
    expect(order).toEqual(["one", "two refused"]);
  });

  it("does not let an expired lease be spent later", async () => {
    const clock = manualClock();
    const fake = leaser([
      { ok: true, messages: 5, bytes: 100 },
      { ok: true, messages: 5, bytes: 100 },
    ]);
    const allowances = new Allowances(fake.lease, { messages: 5, bytes: 100, ms: 10_000 }, clock.now);
    await allowances.spend("u_ann", "a");
    clock.advance(10_000);
    const again = allowances.spend("u_ann", "b");
    expect(again).not.toBeNull();
    await again;
    expect(fake.calls).toHaveLength(2);
  });

  it("asks a fast sender for twice as many, then for the next lease before this one runs out, without making sends wait", async () => {
    const fake = leaser([
      { ok: true, messages: 2, bytes: 1000 },
      { ok: true, messages: 4, bytes: 1000 },
      { ok: true, messages: 8, bytes: 1000 },
      { ok: true, messages: 8, bytes: 1000 },
    ]);
    const allowances = new Allowances(fake.lease, { messages: 2, maxMessages: 8, bytes: 100, ms: 10_000 });
    await allowances.spend("u_ann", "a"); // 1 left
    expect(allowances.spend("u_ann", "b")).toBeNull(); // none left; nothing asked for in advance yet
    expect(fake.asked).toEqual([2]);
    await allowances.spend("u_ann", "c"); // a lease used up: twice as many; 3 left
    expect(allowances.spend("u_ann", "d")).toBeNull(); // 2 left: half of 4 spent, the next is asked for
    expect(fake.asked).toEqual([2, 4, 8]);
    // Paid from what is left while the next lease is on its way.
    expect(allowances.spend("u_ann", "e")).toBeNull();
    await Promise.resolve();
    await Promise.resolve();
    // 1 + 8 tokens now: five more are paid at once, and the fifth (4 left of an ask of 8) asks again.
    for (const body of ["f", "g", "h", "i"]) expect(allowances.spend("u_ann", body)).toBeNull();
    expect(fake.asked).toEqual([2, 4, 8]);
    expect(allowances.spend("u_ann", "j")).toBeNull();
    expect(fake.asked).toEqual([2, 4, 8, 8]); // twice 8 is over the most
  });

  it("refuses the next message that finds the lease spent when a background ask was refused", async () => {
    const fake = leaser([
      { ok: true, messages: 1, bytes: 100 },
      { ok: true, messages: 2, bytes: 100 },
      { ok: false, retryAfterSeconds: 5 },
      { ok: false, retryAfterSeconds: 5 },
    ]);
    const allowances = new Allowances(fake.lease, { messages: 1, maxMessages: 4, bytes: 100, ms: 10_000 });
    await allowances.spend("u_ann", "a");
    await allowances.spend("u_ann", "b"); // 1 left of an ask of 2
    expect(allowances.spend("u_ann", "c")).toBeNull(); // the last token; the background ask is refused
    await expect(allowances.spend("u_ann", "d")).rejects.toMatchObject({
      code: "rate_limited",
      retryAfterSeconds: 5,
    });
    expect(fake.asked).toEqual([1, 2, 4, 4]);
  });

  it("asks for the first size again once a lease has expired", async () => {
    const clock = manualClock();
    const fake = leaser([
      { ok: true, messages: 2, bytes: 100 },
      { ok: true, messages: 4, bytes: 100 },
      { ok: true, messages: 2, bytes: 100 },
    ]);
    const allowances = new Allowances(
      fake.lease,
      { messages: 2, maxMessages: 16, bytes: 100, ms: 10_000 },
      clock.now,
    );
    await allowances.spend("u_ann", "a");
    expect(allowances.spend("u_ann", "b")).toBeNull();
    await allowances.spend("u_ann", "c");
    expect(fake.asked).toEqual([2, 4]);
    clock.advance(10_000);
    await allowances.spend("u_ann", "d");
    expect(fake.asked).toEqual([2, 4, 2]);
  });
});
