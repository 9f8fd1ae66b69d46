import { env } from "cloudflare:workers";
import * as fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import { openDb } from "../../src/db/client";
import { shardAccess } from "../../src/db/shards";
import type { InboxPage } from "../../src/protocol/responses";
import { type TestUser, registerUser } from "../helpers/api";
import { call } from "../helpers/call";
import { Figures } from "../helpers/checks";
import { listInbox, withoutReads } from "../helpers/d1-listing";
import { until } from "../helpers/wait";

/**
 * The inbox object's listing against the listing the Worker used to read from D1 (the reference,
 * test/helpers/d1-listing.ts), for random histories of the things that change an inbox: new direct
 * conversations and groups (with or without a first message), sends, reads (forwards and back),
 * hides, leaves and additions, by any of a few people, valid or not. Once the rooms' notices have
 * arrived, every user's pages, cursors included, must be exactly the ones D1 gives.
 */

const figures = new Figures("inbox-differential");
afterAll(() => figures.print());

const PEOPLE = 4;
const PAGE = 3;

type Command =
  | { op: "create"; by: number; with: number[]; group: boolean; body: boolean }
  | { op: "send"; by: number; conv: number }
  | { op: "read"; by: number; conv: number; seq: number }
  | { op: "remove"; by: number; conv: number }
  | { op: "add"; by: number; conv: number; who: number };

const person = fc.integer({ min: 0, max: PEOPLE - 1 });
const conv = fc.nat(20);
const command: fc.Arbitrary<Command> = fc.oneof(
  {
    weight: 2,
    arbitrary: fc.record({
      op: fc.constant("create" as const),
      by: person,
      with: fc.uniqueArray(person, { minLength: 1, maxLength: PEOPLE - 1 }),
      group: fc.boolean(),
      body: fc.boolean(),
    }),
  },
  { weight: 4, arbitrary: fc.record({ op: fc.constant("send" as const), by: person, conv }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant("read" as const), by: person, conv, seq: fc.nat(8) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant("remove" as const), by: person, conv }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant("add" as const), by: person, conv, who: person }) },
);

/** Runs one command through the REST API; refusals (404, 422) are part of the history too. */
async function run(cmd: Command, people: TestUser[], convs: string[]): Promise<void> {
  const by = people[cmd.by];
  if (!by) return;
  const token = by.token;
  const target = convs.length > 0 && "conv" in cmd ? convs[cmd.conv % convs.length] : undefined;
  let res: { status: number; body: any } | null = null;
  switch (cmd.op) {
    case "create": {
      const others = cmd.with.filter((i) => i !== cmd.by).flatMap((i) => people[i]?.user.id ?? []);
      if (others.length === 0) return;
      const body: Record<string, unknown> = { participantIds: others };
      if (cmd.group || others.length > 1) body.title = `group ${convs.length}`;
      if (cmd.body) body.body = `first of ${convs.length}`;
      res = await call("POST", "/api/conversations", { token, body });
      const id: unknown = res.body?.conversation?.id;
      if (typeof id === "string" && !convs.includes(id)) convs.push(id);
      break;
    }
    case "send":
      if (!target) return;
      res = await call("POST", `/api/conversations/${target}/messages`, {
        token,
        body: { body: `m ${cmd.by}` },
      });
      break;
    case "read":
      if (!target) return;
      res = await call("POST", `/api/conversations/${target}/read`, { token, body: { seq: cmd.seq } });
      break;
    case "remove":
      if (!target) return;
      res = await call("DELETE", `/api/conversations/${target}`, { token });
      break;
    case "add": {
      const who = people[cmd.who];
      if (!target || !who) return;
      res = await call("POST", `/api/conversations/${target}/participants`, {
        token,
        body: { userIds: [who.user.id] },
      });
      break;
    }
  }
  figures.add(`${cmd.op} → ${res.status}`);
  expect([200, 201, 204, 404, 422], JSON.stringify(res.body)).toContain(res.status);
}

async function objectPages(token: string): Promise<InboxPage[]> {
  const pages: InboxPage[] = [];
  let cursor: string | null = null;
  do {
    const query: string = `?limit=${PAGE}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`;
    const res = await call<InboxPage>("GET", `/api/conversations${query}`, { token });
    expect(res.status).toBe(200);
    pages.push(res.body);
    cursor = res.body.nextCursor;
  } while (cursor);
  return pages;
}

async function d1Pages(userId: string): Promise<InboxPage[]> {
  const pages: InboxPage[] = [];
  let cursor: [string, string] | null = null;
  for (;;) {
    const page = await listInbox(openDb(env.DB), shardAccess(env), userId, PAGE, cursor);
    pages.push(page);
    if (!page.nextCursor) return pages;
    cursor = JSON.parse(atob(page.nextCursor)) as [string, string];
  }
}

describe("the inbox object's listing against D1's", () => {
  it("gives every user the pages D1's listing gives, after any history of sends, reads, hides, leaves and additions", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(command, { minLength: 6, maxLength: 30, size: "medium" }),
        async (commands) => {
          const people = await Promise.all(Array.from({ length: PEOPLE }, (_, i) => registerUser(`P${i}`)));
          const convs: string[] = [];
          for (const cmd of commands) await run(cmd, people, convs);
          for (const p of people) {
            // The other members' inboxes hear of a change with the room's next notice: wait for it.
            let ours: InboxPage[] = [];
            let reference: InboxPage[] = [];
            await until(`${p.user.firstName}'s inbox to match D1`, async () => {
              const [object, d1] = await Promise.all([objectPages(p.token), d1Pages(p.user.id)]);
              [ours, reference] = [object.map(withoutReads), d1];
              return JSON.stringify(ours) === JSON.stringify(reference);
            }).catch(() => undefined);
            expect(ours).toEqual(reference);
            figures.add("inboxes compared");
            figures.add("conversations listed", ours.flatMap((page) => page.conversations).length);
          }
        },
      ),
      { numRuns: 12, endOnFailure: true },
    );
    // Twelve random histories of up to 30 requests each: far more work than one ordinary test, so
    // its own bound (a slow or shared CI machine must not fail it by the default 30 s).
  }, 300_000);
});
