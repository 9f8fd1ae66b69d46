// `npm run bench -- [options]`: the options, their defaults and checks. parseCli() returns the
// settings every other module reads, or throws a UsageError (run.mjs prints it with the help).

import { randomBytes } from "node:crypto";
import { parseArgs } from "node:util";
import { scenarioTable } from "./scenarios.mjs";

export const HELP = `usage: npm run bench -- [options]
  --only <list>          scenarios to run, comma-separated (default: all):
                         small,big,many,echo,small-readers,big-readers,search
                         (search: GET /api/search over a seeded history, product only, --server miniflare)
  --targets <list>       floor,product (default both: every scenario runs against the bare ws floor
                         and the product, reported as product/floor ratios)
  --server <mode>        the product: miniflare (default) | wrangler-dev | start-worker
  --repeat <n>           runs per scenario and target; the tables show the median run (default 1)
  --threads <n>          load-generator threads for scenarios with many sockets (default 2)
  --window <n>           override every scenario's in-flight window per sender
  --per-sender <n>       override every scenario's messages per sender (short runs while developing)
  --body-chars <n>       message body length (default 100)
  --connect-concurrency <n>  sockets opening at once, over all threads (default 50)
  --max-group <n>        MAX_GROUP_SIZE for the server (default 1000, the production default)
  --var <NAME=value>     any other [vars] setting for the server (repeatable), e.g. INBOX_NOTIFY_WINDOW_MS=0
  --no-batch             sockets without ?batch=1: one frame per event (default: batched, as the web client)
  --floor-batch <on|off> whether the floor honours ?batch=1 (one array per event-loop turn; default off:
                         a bare server sends one frame per event; it never relays read receipts)
  --floor-deflate        the floor offers permessage-deflate (the product's local runtime negotiates it
                         with the load generator; a bare ws server does not: default off)
  --readers <fraction>   web scenarios: sockets that send a read receipt per message (default 0.2)
  --typers <fraction>    web scenarios: sockets that send typing on/off every 2.5 s (default 0.1)
  --churn <per second>   web scenarios: tabs closing and reopening with ?since=, per room (default 2)
  --give-up <s>          a send phase not done by then is reported "did not finish" (default 60)
  --scenario-timeout <s> bound of the other phases (connect, quiesce, close; default 120)
  --timeout <s>          whole run (default 3600)
  --out <file>           JSON output (default test/bench/results/bench-<time>.json)
  --cpu-profile          (miniflare only) V8 CPU profile of the Worker isolate over each send phase:
                         <results>/<scenario>.cpuprofile and the top functions printed
  --cpu-profile-phase <send|connect>  the phase --cpu-profile covers (default send; connect: the sockets opening)
  --search-messages <n>  the search scenario's history: messages seeded into the shard (default 100000)
  --search-repeat <n>    the search scenario: requests per caller and kind of query (default 20)
  --quiet                less progress output`;

export class UsageError extends Error {}

export function parseCli(argv = process.argv.slice(2)) {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        only: { type: "string" },
        targets: { type: "string", default: "floor,product" },
        server: { type: "string", default: "miniflare" },
        repeat: { type: "string", default: "1" },
        threads: { type: "string", default: "2" },
        window: { type: "string" },
        "per-sender": { type: "string" },
        "body-chars": { type: "string", default: "100" },
        "connect-concurrency": { type: "string", default: "50" },
        "max-group": { type: "string", default: "1000" },
        var: { type: "string", multiple: true, default: [] },
        "no-batch": { type: "boolean", default: false },
        "floor-batch": { type: "string", default: "off" },
        "floor-deflate": { type: "boolean", default: false },
        readers: { type: "string", default: "0.2" },
        typers: { type: "string", default: "0.1" },
        churn: { type: "string", default: "2" },
        "give-up": { type: "string", default: "60" },
        "scenario-timeout": { type: "string", default: "120" },
        timeout: { type: "string", default: "3600" },
        out: { type: "string" },
        quiet: { type: "boolean", default: false },
        "search-messages": { type: "string", default: "100000" },
        "search-repeat": { type: "string", default: "20" },
        "cpu-profile": { type: "boolean", default: false },
        "cpu-profile-phase": { type: "string", default: "send" },
        help: { type: "boolean", default: false },
      },
    }));
  } catch (err) {
    throw new UsageError(err.message);
  }
  if (values.help) return { help: true };

  const int = (name, min = 1) => {
    const n = Number(values[name]);
    if (!Number.isInteger(n) || n < min) throw new UsageError(`--${name} must be an integer ≥ ${min}`);
    return n;
  };
  const num = (name, min, max) => {
    const n = Number(values[name]);
    if (!Number.isFinite(n) || n < min || n > max)
      throw new UsageError(`--${name} must be a number from ${min} to ${max}`);
    return n;
  };
  const list = (name, allowed) => {
    const items = values[name]
      .split(",")
      .map((s) => s.trim())
      .filter(Boolean);
    for (const item of items)
      if (!allowed.includes(item))
        throw new UsageError(`--${name}: unknown ${item} (one of ${allowed.join(", ")})`);
    if (items.length === 0) throw new UsageError(`--${name} is empty`);
    return items;
  };

  const maxGroup = int("max-group", 2);
  const scenarios = scenarioTable({ maxGroup });
  if (values["per-sender"] !== undefined) {
    const perSender = int("per-sender");
    for (const cfg of Object.values(scenarios)) cfg.perSender = perSender;
  }
  // Every scenario by default; search only where it can seed (miniflare).
  const only = values.only
    ? list("only", Object.keys(scenarios))
    : Object.keys(scenarios).filter((n) => n !== "search" || values.server === "miniflare");
  const targets = list("targets", ["floor", "product"]);
  if (!["on", "off"].includes(values["floor-batch"])) throw new UsageError("--floor-batch is on or off");
  if (!["miniflare", "wrangler-dev", "start-worker"].includes(values.server))
    throw new UsageError(`unknown --server ${values.server}`);
  if (!["send", "connect"].includes(values["cpu-profile-phase"]))
    throw new UsageError("--cpu-profile-phase takes send or connect");
  if (values["cpu-profile"] && values.server !== "miniflare")
    throw new UsageError("--cpu-profile needs --server miniflare");
  if (only.includes("search") && values.server !== "miniflare")
    throw new UsageError("the search scenario needs --server miniflare (it seeds D1 through Miniflare)");

  const vars = {
    JWT_SECRET: randomBytes(36).toString("base64url"), // 48 characters
    PBKDF2_ITERATIONS: "1000", // seeding speed only: login/register are not measured
    MESSAGE_RATE_PER_10S: "1000000000",
    // The per-user budgets out of reach too (leases keep their default size: that cost is measured).
    USER_MESSAGES_PER_WINDOW: "1000000000",
    USER_MESSAGE_BYTES_PER_WINDOW: "1000000000000",
    USER_CONVERSATIONS_PER_HOUR: "1000000000",
    MAX_GROUP_SIZE: String(maxGroup),
    // The load generator does not page the rest of a cut replay over REST as the web client does
    // (ready.replayedTo): a tab away 250 ms in a room doing 1k+ msgs/s misses more than the default
    // 500, and its missing messages read as lost. The replay's bytes stay bounded (REPLAY_MAX_BYTES).
    REPLAY_LIMIT: "100000",
    // Seeding registers up to 2000 users from one address: the login/register throttles are off.
    AUTH_RATE_LIMITS: "off",
  };
  for (const kv of values.var) {
    const i = kv.indexOf("=");
    if (i < 1) throw new UsageError(`--var takes NAME=value, got ${kv}`);
    vars[kv.slice(0, i)] = kv.slice(i + 1);
  }

  return {
    help: false,
    scenarios,
    only,
    targets,
    server: values.server,
    repeat: int("repeat"),
    threads: int("threads"),
    window: values.window === undefined ? null : int("window"),
    bodyChars: int("body-chars", 40),
    connectConcurrency: int("connect-concurrency"),
    maxGroup,
    vars,
    batch: !values["no-batch"],
    floorBatch: values["floor-batch"],
    floorDeflate: values["floor-deflate"],
    readers: num("readers", 0, 1),
    typers: num("typers", 0, 1),
    churnPerSec: num("churn", 0, 1000),
    giveUpMs: int("give-up") * 1000,
    phaseTimeoutMs: int("scenario-timeout") * 1000,
    runTimeoutMs: int("timeout") * 1000,
    out: values.out ?? null,
    quiet: values.quiet,
    searchMessages: int("search-messages"),
    searchRepeat: int("search-repeat"),
    cpuProfile: values["cpu-profile"],
    cpuProfilePhase: values["cpu-profile-phase"],
  };
}
