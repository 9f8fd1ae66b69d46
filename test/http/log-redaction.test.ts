import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { hashPassword } from "../../src/auth/password";
import { log, redact } from "../../src/log";
import { type TestUser, registerUser, sendMessage, startConversation } from "../helpers/api";
import { until } from "../helpers/wait";
import { call } from "../helpers/call";
import { captureLogs } from "../helpers/logs";
import { historyDbOf } from "../helpers/d1";

/**
 * Logs never carry a token, a password, a password hash, an email address or a message body,
 * whatever a caller passes to the one logging function and whatever a failing database echoes.
 * Database failures are real: a trigger in the test database refuses the write, and is dropped
 * afterwards.
 */

afterEach(() => {
  vi.restoreAllMocks();
});

/**
 * Runs `fn` while D1 refuses every `event` on `table`: a trigger raising an error whose text is the
 * SQL expression `raise` (which may echo the refused row's values, as `NEW.column`).
 */
async function whileD1Refuses<T>(
  table: string,
  event: "INSERT" | "UPDATE",
  fn: () => Promise<T>,
  db: D1Database = env.DB,
  raise = "'injected failure'",
): Promise<T> {
  const name = `inject_${table}_${event.toLowerCase()}`;
  await db
    .prepare(`CREATE TRIGGER ${name} BEFORE ${event} ON ${table} BEGIN SELECT RAISE(FAIL, ${raise}); END`)
    .run();
  try {
    return await fn();
  } finally {
    await db.prepare(`DROP TRIGGER IF EXISTS ${name}`).run();
  }
}

/** Every line is a JSON object with a level and an event, and contains none of `secrets`. */
function expectClean(lines: string[], secrets: string[]): void {
  expect(lines.length).toBeGreaterThan(0);
  for (const line of lines) {
    const entry = JSON.parse(line) as Record<string, unknown>;
    expect(typeof entry.level, line).toBe("string");
    expect(typeof entry.event, line).toBe("string");
    for (const secret of secrets) expect(line.toLowerCase(), line).not.toContain(secret.toLowerCase());
    expect(line, line).not.toMatch(/pbkdf2-sha256\$/);
    expect(line, line).not.toMatch(/eyJ[\w-]+\.[\w-]+\./);
    expect(line, line).not.toMatch(/[\w.+-]+@[\w-]+\.[\w.-]+/);
  }
}

describe("the logging function", () => {
  it("keeps tokens, passwords, hashes, emails and bodies out of the line, whatever the fields", async () => {
    const jwt =
      "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJ1X2FiYyIsImV4cCI6MTc5NTAwMDAwMH0.c2lnbmF0dXJlLXZhbHVl";
    const hash = await hashPassword("hunter2 is my password", 1000);
    const email = "Private.Person+tag@Example.org";
    const body = "the contents of a private message";
    const { lines } = await captureLogs(async () => {
      log("error", "hostile_fields", {
        requestId: "req-1",
        conversationId: "c_keep_me",
        token: jwt,
        accessToken: "opaque-access-token-value",
        authorization: "Bearer opaque-bearer-value",
        password: "hunter2 is my password",
        passwordHash: hash,
        email,
        body,
        nested: { deep: [{ header: `Bearer ${jwt}`, note: `mail ${email} now` }] },
        error: new Error(
          `Failed query: insert into "users" values (?, ?, ?)\nparams: u_1,${email},${hash},Ada`,
        ),
        message: `D1_ERROR: something near '${email}' with hash ${hash} and token ${jwt}`,
        url: `/api/conversations/c_1/ws?access_token=${jwt}&since=3`,
        inboxUrl: "/api/inbox/ws?ticket=u_aaaaaaaaaaaaaaaaaaaa.opaque-ticket-secret",
        text: body,
      });
      log("warn", "plain_message", { message: `Authorization: Bearer opaque-bearer-value; user ${email}` });
    });
    expectClean(lines, [
      jwt,
      "opaque-access-token-value",
      "opaque-ticket-secret",
      "opaque-bearer-value",
      "hunter2",
      hash,
      hash.split("$")[3]!,
      email,
      body,
    ]);
    const entry = JSON.parse(lines[0]!) as Record<string, unknown>;
    expect(entry).toMatchObject({
      level: "error",
      event: "hostile_fields",
      requestId: "req-1",
      conversationId: "c_keep_me",
    });
  });
});

describe("database failures in the log", () => {
  it("a registration whose insert fails logs no email, password or hash", async () => {
    const tag = crypto.randomUUID().slice(0, 8);
    const email = `secret-${tag}@example.com`;
    const password = `pw-${tag}-not-for-logs`;
    const firstName = `Hidden${tag}`;
    const { result: res, lines } = await captureLogs(() =>
      whileD1Refuses("users", "INSERT", () =>
        call("POST", "/api/auth/register", { body: { email, password, firstName, lastName: "Person" } }),
      ),
    );
    expect(res.status).toBe(500);
    expect(lines.map((l) => JSON.parse(l).event)).toContain("unhandled_error");
    expectClean(lines, [email, password, firstName]);
    // What went wrong is still there: the driver's error code, carried as the cause (the trigger's
    // own text is withheld: see the next test).
    expect(lines.join("\n")).toContain("SQLITE_CONSTRAINT_TRIGGER");
  });

  it("a profile update that fails logs none of the new values or the account's email", async () => {
    const user = await registerUser("Pro", "File");
    const tag = crypto.randomUUID().slice(0, 8);
    const { result: res, lines } = await captureLogs(() =>
      whileD1Refuses("users", "UPDATE", () =>
        call("PATCH", "/api/me", { token: user.token, body: { firstName: `Renamed${tag}` } }),
      ),
    );
    expect(res.status).toBe(500);
    expectClean(lines, [user.user.email, user.token, `Renamed${tag}`]);
  });

  it("a message whose D1 copy fails logs no body, and the copy arrives once D1 recovers", async () => {
    const a: TestUser = await registerUser("Body", "Sender");
    const b: TestUser = await registerUser("Body", "Reader");
    const { conversation } = await startConversation(a.token, [b.user.id]);
    const body = `a private body ${crypto.randomUUID()}`;
    const shard = await historyDbOf(conversation.id);
    const { lines } = await captureLogs((seen) =>
      whileD1Refuses(
        "messages",
        "INSERT",
        async () => {
          await sendMessage(a.token, conversation.id, body);
          await until("the failed D1 copy to be logged", () =>
            seen.some((l) => l.includes("d1_mirror_failed")),
          );
        },
        shard,
      ),
    );
    expectClean(lines, [body, a.token, a.user.email]);
    await until("the D1 copy after recovery", async () => {
      const row = await shard
        .prepare("SELECT count(*) AS n FROM messages WHERE body = ?")
        .bind(body)
        .first<{ n: number }>();
      return row?.n === 1;
    });
  });

  it("a D1 error that echoes the refused row (email, password hash) logs none of its values", async () => {
    const tag = crypto.randomUUID().slice(0, 8);
    const email = `echoed-${tag}@example.com`;
    const password = `pw-${tag}-echoed`;
    const { result: res, lines } = await captureLogs(() =>
      whileD1Refuses(
        "users",
        "INSERT",
        () =>
          call("POST", "/api/auth/register", {
            body: { email, password, firstName: `Echo${tag}`, lastName: "Row" },
          }),
        env.DB,
        "'refused ' || NEW.email || ' ' || NEW.password_hash || ' ' || NEW.first_name",
      ),
    );
    expect(res.status).toBe(500);
    expectClean(lines, [email, password, `echoed-${tag}`, `Echo${tag}`]);
    const failure = lines.find((l) => l.includes("unhandled_error")) ?? "";
    expect(failure).toContain("[database message withheld]");
    expect(failure).toContain("SQLITE_CONSTRAINT_TRIGGER");
  });

  it("a shard that echoes a message's body in its error logs no body, and the copy arrives once it recovers", async () => {
    const a: TestUser = await registerUser("Echo", "Sender");
    const b: TestUser = await registerUser("Echo", "Reader");
    const { conversation } = await startConversation(a.token, [b.user.id]);
    const body = `an echoed private body ${crypto.randomUUID()}`;
    const shard = await historyDbOf(conversation.id);
    const { lines } = await captureLogs((seen) =>
      whileD1Refuses(
        "messages",
        "INSERT",
        async () => {
          await sendMessage(a.token, conversation.id, body);
          await until("the failed D1 copy to be logged", () =>
            seen.some((l) => l.includes("d1_mirror_failed")),
          );
        },
        shard,
        "'refused ' || NEW.body || ' from ' || NEW.sender_id",
      ),
    );
    expectClean(lines, [body, "an echoed private body", a.token, a.user.email]);
    const failed = lines.find((l) => l.includes("d1_mirror_failed")) ?? "";
    expect(JSON.parse(failed)).toMatchObject({ level: "warn", conversationId: conversation.id });
    expect(failed).toContain("[database message withheld]");
    await until("the D1 copy after recovery", async () => {
      const row = await shard
        .prepare("SELECT count(*) AS n FROM messages WHERE body = ?")
        .bind(body)
        .first<{ n: number }>();
      return row?.n === 1;
    });
  });

  it("keeps SQLite's fixed messages, which name tables and columns, never values", () => {
    const kept = [
      "D1_ERROR: NOT NULL constraint failed: users.first_name: SQLITE_CONSTRAINT (extended: SQLITE_CONSTRAINT_NOTNULL)",
      "UNIQUE constraint failed: users.email_normalized: SQLITE_CONSTRAINT (extended: SQLITE_CONSTRAINT_UNIQUE)",
      "D1_ERROR: no such table: messages: SQLITE_ERROR",
    ];
    for (const text of kept) expect(redact(text)).toBe(text);
    expect(
      redact("D1_ERROR: refused a@b.example pbkdf2: SQLITE_CONSTRAINT (extended: SQLITE_CONSTRAINT_TRIGGER)"),
    ).toBe("D1_ERROR: [database message withheld]: SQLITE_CONSTRAINT (extended: SQLITE_CONSTRAINT_TRIGGER)");
  });
});
