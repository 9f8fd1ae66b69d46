import { applyD1Migrations } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { limitsFrom } from "../../src/config";
import { openDb } from "../../src/db/client";
import { searchUsers } from "../../src/db/users";
import type { AuthResponse, User } from "../../src/protocol/models";
import { type CapturedStatement, capturingD1, queryPlan } from "../helpers/d1-capture";
import { call } from "../helpers/call";

/**
 * GET /api/users?q=…: a name prefix search served by indexes, or the one person whose email is
 * exactly q. Email addresses are private: a prefix of one finds nobody.
 */

const tag = () => crypto.randomUUID().replace(/-/g, "").slice(0, 8);

async function register(
  firstName: string,
  lastName: string,
  email = `${tag()}-${tag()}@example.com`,
): Promise<AuthResponse> {
  const res = await call<AuthResponse>("POST", "/api/auth/register", {
    body: { email, password: "correct horse battery", firstName, lastName },
  });
  if (res.status !== 201) throw new Error(`register failed: ${res.status} ${res.text}`);
  return res.body;
}

async function search(token: string, q: string, limit?: number): Promise<string[]> {
  const query = `q=${encodeURIComponent(q)}${limit === undefined ? "" : `&limit=${limit}`}`;
  const res = await call<{ users: User[] }>("GET", `/api/users?${query}`, { token });
  expect(res.status, `q=${JSON.stringify(q)}: ${res.text.slice(0, 300)}`).toBe(200);
  return res.body.users.map((u) => u.id);
}

let caller: AuthResponse;
beforeAll(async () => {
  caller = await register("Searching", "Caller");
});

describe("user search by name", () => {
  it("finds people by a prefix of their first, last or full name, in any letter case", async () => {
    const t = tag();
    const emile = await register(`Émile${t}`, `Zola${t}`);
    for (const q of [
      `Émile${t}`,
      `émile${t}`,
      `ÉMILE${t.toUpperCase()}`,
      `émile${t} zo`,
      `ÉMILE${t}   ZOLA`,
      `zola${t}`,
      `Zola${t} Émi`,
    ])
      expect(await search(caller.token, q), q).toEqual([emile.user.id]);
    expect(await search(caller.token, `mile${t}`)).toEqual([]);
    expect(await search(caller.token, `ola${t}`)).toEqual([]);
  });

  it("treats LIKE wildcards and quotes in q as ordinary characters", async () => {
    const t = tag();
    const percent = await register(`%${t}_x`, "O'Brien");
    expect(await search(caller.token, `%${t}_`)).toEqual([percent.user.id]);
    expect(await search(caller.token, `%${t}%`)).toEqual([]);
    expect(await search(caller.token, `_${t}`)).toEqual([]);
    expect(await search(caller.token, `%${t}_x o'b`)).toEqual([percent.user.id]);
  });

  it("finds people by their new name after a profile update, and no longer by the old one", async () => {
    const t = tag();
    const person = await register(`Before${t}`, `Family${t}`);
    const patch = (body: object) => call("PATCH", "/api/me", { token: person.token, body });
    expect((await patch({ firstName: `After${t}` })).status).toBe(200);
    expect(await search(caller.token, `before${t}`)).toEqual([]);
    expect(await search(caller.token, `after${t} family${t}`)).toEqual([person.user.id]);
    expect((await patch({ lastName: `Renamed${t}` })).status).toBe(200);
    expect(await search(caller.token, `family${t}`)).toEqual([]);
    expect(await search(caller.token, `renamed${t} after${t}`)).toEqual([person.user.id]);
    expect((await patch({ avatarUrl: "https://example.com/a.png" })).status).toBe(200);
    expect(await search(caller.token, `after${t} renamed${t}`)).toEqual([person.user.id]);
  });

  it("never lists the caller, even searched by their own name or exact email", async () => {
    const t = tag();
    const me = await register(`Selfie${t}`, "Person", `selfie-${t}@example.com`);
    expect(await search(me.token, `selfie${t}`)).toEqual([]);
    expect(await search(me.token, `selfie-${t}@example.com`)).toEqual([]);
  });
});

describe("user search by email", () => {
  it("finds a person by their exact email in any letter case, and nobody by a prefix of it", async () => {
    const t = tag();
    const email = `mail-${t}@example.com`;
    const quiet = await register(`Quiet${t}`, "Person", email);
    expect(await search(caller.token, email)).toEqual([quiet.user.id]);
    expect(await search(caller.token, `  MAIL-${t.toUpperCase()}@Example.COM `)).toEqual([quiet.user.id]);
    for (const prefix of ["mail-", `mail-${t}`, `mail-${t}@`, `mail-${t}@example.co`, `ail-${t}@example.com`])
      expect(await search(caller.token, prefix), prefix).toEqual([]);
  });
});

describe("user search inputs", () => {
  const maxChars = limitsFrom(env).userSearchMaxChars;

  it("answers 200 for any q up to the length limit: long, non-Latin, emoji, wildcards, quotes", async () => {
    const fill = (unit: string) => unit.repeat(Math.floor(maxChars / unit.length));
    const inputs = [
      fill("a"),
      fill("%"),
      fill("_%\\"),
      fill("é"),
      fill("😀"),
      fill("名前"),
      fill("İ"),
      fill("ß"),
      fill("a b"),
      fill("\uffff"),
      fill("\u{10ffff}"),
      fill("'\""),
      `${fill("x").slice(1)}@`,
      `${"a".repeat(maxChars - 12)}@example.com`,
      "'; DROP TABLE users; --",
      "\u0000",
      "a\u0000b",
      "\u202e",
      "%",
      "_",
    ];
    for (const q of inputs) {
      expect(q.length, JSON.stringify(q)).toBeLessThanOrEqual(maxChars);
      await search(caller.token, q);
    }
    const res = await call("GET", "/api/users?q=&limit=50", { token: caller.token });
    expect(res.status).toBe(200);
  });

  it("refuses a q over the length limit with 422 and names the field", async () => {
    const res = await call("GET", `/api/users?q=${"a".repeat(maxChars + 1)}`, { token: caller.token });
    expect(res.status).toBe(422);
    expect(res.body.error.code).toBe("validation_failed");
    expect(res.body.error.details[0].path).toBe("q");
  });
});

/** The rows D1 reports reading for the statements, run again as captured. */
async function rowsRead(statements: CapturedStatement[]): Promise<number> {
  let total = 0;
  for (const { sql, params } of statements) {
    const { meta } = await env.DB.prepare(sql)
      .bind(...params)
      .all();
    total += meta.rows_read;
  }
  return total;
}

describe("user search cost", () => {
  const MATCHING = 60;
  const LIMIT = 5;
  let prefix: string;
  let ids: string[];

  beforeAll(async () => {
    prefix = `Crowd${tag()}`;
    const people: AuthResponse[] = [];
    for (let i = 0; i < MATCHING; i++)
      people.push(await register(`${prefix}${String(i).padStart(2, "0")}`, `Member${i}`));
    ids = people.map((p) => p.user.id);
  });

  /** Runs the search as the route does, recording every statement it sends to D1. */
  async function captured(q: string): Promise<{ found: User[]; statements: CapturedStatement[] }> {
    const statements: CapturedStatement[] = [];
    const found = await searchUsers(openDb(capturingD1(env.DB, statements)), q, caller.user.id, LIMIT);
    expect(statements.length).toBeGreaterThan(0);
    return { found, statements };
  }

  it("serves every search from an index, never a scan of the users table or a sort", async () => {
    for (const q of [prefix.toLowerCase(), "member1", `${prefix} member`, "someone@example.com", ""]) {
      const { statements } = await captured(q);
      for (const statement of statements) {
        const plan = await queryPlan(env.DB, statement);
        const context = `q=${JSON.stringify(q)}: ${statement.sql}\n${plan.join("\n")}`;
        expect(plan.length, context).toBeGreaterThan(0);
        for (const step of plan) {
          expect(step, context).not.toMatch(/\bSCAN\b/);
          expect(step, context).not.toMatch(/TEMP B-TREE/);
        }
        expect(
          plan.some((step) => /^SEARCH users USING (COVERING )?INDEX /.test(step)),
          context,
        ).toBe(true);
      }
    }
  });

  it("reads about `limit` rows whether many people share the prefix or nobody has it", async () => {
    const crowd = await captured(prefix.toLowerCase());
    expect(crowd.found.map((u) => u.id)).toEqual(ids.slice(0, LIMIT));
    for (const q of [prefix.toLowerCase(), "member", "zzzz-nobody-is-called-this", "nobody@example.com"]) {
      const { statements } = await captured(q);
      const read = await rowsRead(statements);
      // An index entry and a table row per result at most, for each statement, plus a row to stop on.
      expect(read, `q=${q}`).toBeLessThanOrEqual(statements.length * 2 * (LIMIT + 1));
    }
  });
});

describe("the search-key migration", () => {
  it("gives users stored before it the keys that registration gives new ones", async () => {
    const db = env.MIGRATION_TEST_DB;
    // A fresh database at the schema before the migration, holding users written by the old code.
    const { results } = await db
      .prepare(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY rowid DESC",
      )
      .all<{ name: string }>();
    for (const { name } of results) await db.prepare(`DROP TABLE "${name}"`).run();
    const [first, ...later] = env.TEST_MIGRATIONS;
    expect(first?.name).toMatch(/^0000_/);
    expect(later.length).toBeGreaterThan(0);
    await applyD1Migrations(db, [first!]);
    const insert = db.prepare(
      "INSERT INTO users (id, email, password_hash, first_name, last_name, avatar_url, created_at) VALUES (?, ?, 'x', ?, ?, NULL, '2026-01-01T00:00:00.000Z')",
    );
    await db.batch([
      insert.bind("u_old_ada", "ada@example.com", "Ada", "Lovelace"),
      insert.bind("u_old_grace", "grace@example.com", "GRACE", "Hopper"),
      insert.bind("u_old_self", "self@example.com", "Self", "Caller"),
    ]);

    await applyD1Migrations(db, env.TEST_MIGRATIONS);

    const found = async (q: string) => (await searchUsers(openDb(db), q, "u_old_self", 20)).map((u) => u.id);
    expect(await found("ada")).toEqual(["u_old_ada"]);
    expect(await found("lovelace ada")).toEqual(["u_old_ada"]);
    expect(await found("grace hop")).toEqual(["u_old_grace"]);
    expect(await found("HOPPER")).toEqual(["u_old_grace"]);
    expect(await found("grace@example.com")).toEqual(["u_old_grace"]);
    expect(await found("grace@")).toEqual([]);
  });
});
