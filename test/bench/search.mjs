// The `search` scenario (`npm run bench -- --only search`): GET /api/search latency over a history of
// --search-messages messages (default 100,000) in the product's history shard.
//
// Conversations and their members are made through the public API (so rooms, the directory and
// every member's inbox know them); their messages are then written straight into the shard in
// bulk, through serve.mjs's control channel (Miniflare's own D1 binding of the running product):
// one JSON batch of rows per statement, indexed by the shard's triggers like the outbox's copies.
// Sending 100,000 messages through sockets would measure the rooms, not search.
//
// Bodies are 8–25 words drawn from a Zipf distribution over 20,000 made-up words, so some words
// are in most messages and most are rare. Three callers see different shares of the history:
// "wide" (50 conversations of 200, a quarter of the messages), "typical" (20, a tenth) and
// "narrow" (3, 1.5%: below CONVERSATIONS_IN_INDEX, so its conversations are matched inside the
// index). Each asks each kind of query --search-repeat times, one request at a time, over HTTP:
// a page of 20 results, timed at the client (auth, the inbox object, D1, the senders' profiles).

import { DatabaseSync } from "node:sqlite";
import { LocalShards } from "./d1-shards.mjs";
import { markdown } from "./report.mjs";
import { pool } from "./seeding.mjs";
import { distribution } from "./stats.mjs";

const CONVERSATIONS = 200;
const VOCABULARY = 20_000;
const ROWS_PER_STATEMENT = 2_000;
const SHARD = "HISTORY_0";
const CALLERS = { wide: 50, typical: 20, narrow: 3 };

/** A small seeded PRNG (mulberry32): the same history on every run. */
function random(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const SYLLABLES = [..."bdfgklmnprstvz"].flatMap((c) => [..."aeiou"].map((v) => c + v));

/** Word of rank i: two syllables below 70², three above (lengths differ, so words are unique). */
function word(i) {
  const n = SYLLABLES.length;
  const digits = i < n * n ? 2 : 3;
  let out = "";
  let rest = i < n * n ? i : i - n * n;
  for (let d = 0; d < digits; d++) {
    out += SYLLABLES[rest % n];
    rest = Math.floor(rest / n);
  }
  return out;
}

/** Samples ranks 0..n-1 with probability ∝ 1/(rank+1). */
function zipf(n, rand) {
  const cdf = new Float64Array(n);
  let sum = 0;
  for (let i = 0; i < n; i++) cdf[i] = sum += 1 / (i + 1);
  return () => {
    const x = rand() * sum;
    let lo = 0;
    let hi = n - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cdf[mid] < x) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
}

/** The kinds of query each caller asks: a page of 20 each. */
function queries() {
  return [
    { name: "common word", q: word(0) },
    { name: "medium word", q: word(99) },
    { name: "rare word", q: word(4999) },
    { name: "two words", q: `${word(2)} ${word(199)}` },
    { name: "3-letter prefix", q: word(39).slice(0, 3) },
    { name: "no match", q: "zzqqxx" },
  ];
}

async function d1(control, statements) {
  const res = await fetch(`${control}/d1`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ binding: SHARD, statements }),
    signal: AbortSignal.timeout(120_000),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`seeding D1 failed: ${res.status} ${text.slice(0, 500)}`);
  return JSON.parse(text);
}

const INSERT = `
INSERT INTO messages (id, conversation_id, seq, sender_id, body, client_id, created_at, edited_at, deleted_at)
SELECT value ->> 'id', value ->> 'c', value ->> 's', value ->> 'u', value ->> 'b', NULL, value ->> 't', NULL, NULL
FROM json_each(?)`;

/** 200 groups; the three callers in theirs, two others of the remaining users in each. */
async function seedConversations(api, users) {
  const [wide, typical, narrow, ...others] = users;
  const callers = [
    [wide, CALLERS.wide],
    [typical, CALLERS.typical],
    [narrow, CALLERS.narrow],
  ];
  const plan = [];
  for (const [caller, count] of callers) for (let i = 0; i < count; i++) plan.push(caller);
  while (plan.length < CONVERSATIONS) plan.push(others[plan.length % others.length]);
  return pool(plan.length, 8, async (i) => {
    const owner = plan[i];
    const members = [others[(i * 3) % others.length], others[(i * 3 + 1) % others.length]].filter(
      (u) => u.id !== owner.id,
    );
    const res = await api.call("POST", "/api/conversations", {
      token: owner.token,
      body: { participantIds: members.map((u) => u.id), title: `search bench ${i}` },
    });
    return { id: res.conversation.id, members: [owner, ...members].map((u) => u.id) };
  });
}

/** Writes `total` messages into the shard, oldest first, in batches of ROWS_PER_STATEMENT. */
async function seedMessages(control, conversations, total, log) {
  const rand = random(20261124);
  const pick = zipf(VOCABULARY, rand);
  const seqs = new Map();
  const start = Date.now() - 90 * 86_400_000;
  const step = (90 * 86_400_000) / total;
  let bodyChars = 0;
  for (let done = 0; done < total;) {
    const rows = [];
    for (let i = 0; i < ROWS_PER_STATEMENT && done < total; i++, done++) {
      const c = conversations[Math.floor(rand() * conversations.length)];
      const seq = (seqs.get(c.id) ?? 0) + 1;
      seqs.set(c.id, seq);
      const words = Array.from({ length: 8 + Math.floor(rand() * 18) }, () => word(pick()));
      const body = words.join(" ");
      bodyChars += body.length;
      rows.push({
        id: `m_bench${done.toString(36).padStart(13, "0")}`,
        c: c.id,
        s: seq,
        u: c.members[Math.floor(rand() * c.members.length)],
        b: body,
        t: new Date(start + done * step).toISOString(),
      });
    }
    await d1(control, [{ sql: INSERT, params: [JSON.stringify(rows)] }]);
    if (done % 20_000 === 0) log(`search: ${done.toLocaleString("en-US")} messages in the shard`);
  }
  return { averageBodyChars: bodyChars / total };
}

/** The shard's pages by table (node:sqlite's dbstat over the local D1 file, read-only). */
function shardBytes(persistDir) {
  for (const file of new LocalShards(persistDir).files()) {
    const db = new DatabaseSync(file, { readOnly: true });
    try {
      if (!db.prepare("SELECT 1 FROM sqlite_master WHERE name = 'message_search'").get()) continue;
      const rows = db.prepare("SELECT name, sum(pgsize) AS bytes FROM dbstat GROUP BY name").all();
      const sum = (test) => rows.filter((r) => test(r.name)).reduce((n, r) => n + r.bytes, 0);
      return {
        index: sum((name) => name.startsWith("message_search")),
        messages: sum(
          (name) =>
            name === "messages" ||
            name.startsWith("sqlite_autoindex_messages") ||
            name.startsWith("messages_"),
        ),
      };
    } catch {
      return null;
    } finally {
      db.close();
    }
  }
  return null;
}

/** One timed request; the page's results and how long it took. */
async function timedSearch(api, token, params) {
  const query = new URLSearchParams(params);
  const t0 = performance.now();
  const page = await api.call("GET", `/api/search?${query}`, { token });
  return { ms: performance.now() - t0, page };
}

export async function runSearchScenario({ target, settings, log }) {
  const control = target.server.controlUrl;
  if (!control) throw new Error("the search scenario needs --server miniflare (its seeding channel)");
  const { api, users } = target;
  const t0 = performance.now();
  const conversations = await seedConversations(api, users);
  log(`search: ${conversations.length} conversations in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  const t1 = performance.now();
  const { averageBodyChars } = await seedMessages(control, conversations, settings.searchMessages, log);
  const seedSeconds = (performance.now() - t1) / 1000;
  log(
    `search: ${settings.searchMessages.toLocaleString("en-US")} messages seeded in ${seedSeconds.toFixed(1)} s`,
  );
  const bytes = shardBytes(target.server.persistDir);

  const callers = { wide: users[0], typical: users[1], narrow: users[2] };
  const kinds = queries();
  const samples = [];
  // Warm-up: each caller's inbox object and the shard's pages once.
  for (const caller of Object.values(callers))
    for (const k of kinds) await timedSearch(api, caller.token, { q: k.q });
  for (let r = 0; r < settings.searchRepeat; r++) {
    for (const [who, caller] of Object.entries(callers)) {
      for (const k of kinds) {
        const { ms, page } = await timedSearch(api, caller.token, { q: k.q, limit: "20" });
        samples.push({ caller: who, kind: k.name, ms, results: page.results.length });
      }
      // A deep page: the fifth page of the common word (four cursors followed first, untimed).
      let cursor = null;
      for (let p = 0; p < 4; p++) {
        const params = { q: kinds[0].q, limit: "20", ...(cursor ? { cursor } : {}) };
        cursor = (await timedSearch(api, caller.token, params)).page.nextCursor;
        if (!cursor) break;
      }
      if (cursor) {
        const { ms, page } = await timedSearch(api, caller.token, { q: kinds[0].q, limit: "20", cursor });
        samples.push({ caller: who, kind: "common word, 5th page", ms, results: page.results.length });
      }
    }
  }
  const all = distribution(samples.map((s) => s.ms));
  const byKind = [...new Set(samples.map((s) => s.kind))].map((kind) => {
    const of = samples.filter((s) => s.kind === kind);
    const perCaller = Object.keys(callers).map((who) =>
      distribution(of.filter((s) => s.caller === who).map((s) => s.ms)),
    );
    return {
      kind,
      ...distribution(of.map((s) => s.ms)),
      perCallerP50: perCaller.map((d) => d.p50),
      results: of.reduce((n, s) => n + s.results, 0) / of.length,
    };
  });
  return {
    messages: settings.searchMessages,
    conversations: conversations.length,
    callers: CALLERS,
    averageBodyChars,
    seedSeconds,
    shardBytes: bytes,
    requests: samples.length,
    latencyMs: all,
    byKind,
  };
}

const ms = (n) => (n === null || n === undefined ? "-" : n >= 100 ? n.toFixed(0) : n.toFixed(1));

export function searchTable(r) {
  const head = [
    "query",
    "requests",
    "results/page",
    "p50 ms",
    "p90 ms",
    "p99 ms",
    "max ms",
    "p50 wide/typical/narrow",
  ];
  const rows = r.byKind.map((k) => [
    k.kind,
    k.count,
    k.results.toFixed(1),
    ms(k.p50),
    ms(k.p90),
    ms(k.p99),
    ms(k.max),
    k.perCallerP50.map(ms).join(" / "),
  ]);
  rows.push([
    "all",
    r.latencyMs.count,
    "",
    ms(r.latencyMs.p50),
    ms(r.latencyMs.p90),
    ms(r.latencyMs.p99),
    ms(r.latencyMs.max),
    "",
  ]);
  const size = r.shardBytes
    ? `; shard: messages ${(r.shardBytes.messages / r.messages).toFixed(0)} B and search index ${(r.shardBytes.index / r.messages).toFixed(0)} B per message`
    : "";
  return `${markdown(head, rows)}\n\n${r.messages.toLocaleString("en-US")} messages (${r.averageBodyChars.toFixed(0)} characters on average) in ${r.conversations} conversations, seeded in ${r.seedSeconds.toFixed(1)} s${size}.`;
}
