import { runDurableObjectAlarm } from "cloudflare:test";
import { env } from "cloudflare:workers";
import * as fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { limitsFrom } from "../../src/config";
import { ClientFrameSchema } from "../../src/protocol/frames";
import { type TestUser, registerUser, startConversation } from "../helpers/api";
import { type TestSocket, ofType, openSocket } from "../helpers/socket";
import { call, upgrade } from "../helpers/call";
import { Figures, expectApiError, expectErrorEvent, safe, show } from "../helpers/checks";
import {
  NASTY_STRINGS,
  deepJson,
  hostileKey,
  hostileNumber,
  hostileParam,
  hostileString,
  hostileValue,
} from "../helpers/hostile";
import { d1MessageCount } from "../helpers/d1";

/**
 * Every client frame under fuzz. Each frame is followed by a sentinel frame whose error reply marks
 * the end of the frame's own replies, so each frame's answer is checked alone: an `error` event of
 * API.md's shape for a bad frame, an ack for a good send, nothing for typing and read. The socket
 * stays open throughout, stores only what was acked, and tells the other participant only that.
 */

const figures = new Figures("socket-fuzz");
afterAll(() => figures.print());

const MAX_FRAME = limitsFrom(env).maxFrameBytes;
const MAX_BODY = limitsFrom(env).maxMessageChars;
const KNOWN_TYPES = ["send", "edit", "delete", "typing", "read", "react"];
const encoder = new TextEncoder();

const frameString = fc.oneof(
  hostileString,
  fc.constantFrom("x".repeat(4001), " ".repeat(5000), "é".repeat(4000), "😀".repeat(2001)),
);
const fieldValue = fc.oneof(
  { weight: 3, arbitrary: frameString },
  { weight: 2, arbitrary: hostileValue },
  { weight: 1, arbitrary: hostileNumber },
);

/** Frames that look like the protocol, with hostile fields; unknown types; random objects. */
const frameObject: fc.Arbitrary<Record<string, unknown>> = fc.oneof(
  fc.record(
    { type: fc.constant("send"), body: fieldValue, clientId: fieldValue },
    { requiredKeys: ["type"] },
  ),
  fc.record({
    type: fc.constant("send"),
    body: frameString,
    clientId: fc.string({ minLength: 1, maxLength: 8 }),
  }),
  fc.record(
    { type: fc.constant("edit"), messageId: fieldValue, body: fieldValue },
    { requiredKeys: ["type"] },
  ),
  fc.record({ type: fc.constant("delete"), messageId: fieldValue }, { requiredKeys: ["type"] }),
  fc.record(
    { type: fc.constant("typing"), active: fc.oneof(fc.boolean(), hostileValue) },
    { requiredKeys: ["type"] },
  ),
  fc.record(
    { type: fc.constant("read"), seq: fc.oneof(hostileNumber, fc.nat(), hostileValue) },
    { requiredKeys: ["type"] },
  ),
  fc.record(
    {
      type: fc.constant("react"),
      messageId: fieldValue,
      emoji: fc.oneof(fieldValue, fc.constantFrom("👍", "❤️", "👍🏽", "🇫🇷", "+1", "👍👍", "A")),
      active: fc.oneof(fc.boolean(), hostileValue),
    },
    { requiredKeys: ["type"] },
  ),
  fc.record({
    type: fc.constant("send"),
    body: fc.constant("a reply"),
    clientId: fc.string({ minLength: 1, maxLength: 8 }),
    replyTo: fieldValue,
  }),
  fc.tuple(fc.constantFrom(...KNOWN_TYPES), hostileKey, hostileValue).map(([type, k, v]) => ({
    type,
    body: "hi",
    clientId: "c",
    messageId: "m",
    active: true,
    seq: 1,
    [k]: v,
  })),
  fc.record({ type: fc.oneof(hostileString, hostileValue), body: fieldValue, clientId: fieldValue }),
  fc.dictionary(hostileKey, hostileValue, { maxKeys: 5 }),
);

/** The frame's text: JSON of an object, other JSON, syntax JSON.stringify cannot produce, or not JSON. */
const frameText: fc.Arbitrary<string> = fc.oneof(
  { weight: 6, arbitrary: frameObject.map((o) => JSON.stringify(o)) },
  { weight: 1, arbitrary: hostileValue.map((v) => JSON.stringify(v) ?? "null") },
  {
    weight: 2,
    arbitrary: fc.constantFrom(
      '{"type":"read","seq":NaN}',
      '{"type":"read","seq":-Infinity}',
      '{"type":"read","seq":1e400}',
      '{"type":"read","seq":-0}',
      '{"type":"read","seq":-1}',
      '{"type":"read","seq":1.5}',
      '{"type":"read","seq":9007199254740993}',
      '{"type":"read","seq":"5"}',
      '{"type":"read","seq":null}',
      '{"type":"typing","active":"true"}',
      '{"type":"typing","active":1}',
      '{"type":"send","body":"x","clientId":"a","__proto__":{"type":"delete"}}',
      '{"__proto__":{"type":"send","body":"x","clientId":"proto"}}',
      '{"type":"send","type":"typing","active":true}',
      '{"type":"send","body":"x","clientId":"dup","clientId":""}',
      '{"type":"send","body":"\\u0000","clientId":"nul"}',
      '{"type":"send","body":"\\ud800","clientId":"lone"}',
      '{"type":"send","body":"ok","clientId":"\\ud800"}',
      '{"type":"send","body":"ok","clientId":"\\u202e"}',
      '{"type":"send","body":"\\u202egnp.exe","clientId":"rtl-body"}',
      '{"type":"send","body":"x","senderId":"u_someoneelse","clientId":"spoof"}',
      '{"type":"send","body":"x","clientId":"c",}',
      "{'type':'send'}",
      "",
      " ",
      "null",
      "[]",
      '"send"',
      "ping ",
      "PING",
      '{"type":{"toString":{}},"body":"x","clientId":"to-string"}',
      '{"type":{"toString":1,"valueOf":1},"clientId":"value-of"}',
      '{"type":["send"],"body":"x","clientId":"array-type"}',
      '{"type":"send","body":{"toString":{}},"clientId":{"toString":{}}}',
    ),
  },
  { weight: 1, arbitrary: deepJson.filter((t) => t.length < MAX_FRAME) },
  { weight: 2, arbitrary: fc.string({ maxLength: 40 }) },
  { weight: 1, arbitrary: fc.constantFrom(...NASTY_STRINGS) },
);

type Frame = { text: string } | { binary: Uint8Array };
const frames: fc.Arbitrary<Frame> = fc.oneof(
  { weight: 12, arbitrary: frameText.map((text) => ({ text })) },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 64 }).map((binary) => ({ binary })) },
);

/** What the room receives: text goes over the wire as UTF-8, so a lone surrogate arrives as U+FFFD. */
const wire = (text: string) => new TextDecoder().decode(encoder.encode(text));

type Expected =
  | { kind: "error"; codes: string[]; clientId?: string }
  | { kind: "ack"; clientId: string; body: string | null }
  | { kind: "none" }
  | { kind: "pong" };

let a: TestUser;
let b: TestUser;
let id: string;
let sa: TestSocket;
let sb: TestSocket;

beforeAll(async () => {
  a = await registerUser("Ann", "Frames");
  b = await registerUser("Bob", "Frames");
  id = (await startConversation(a.token, [b.user.id])).conversation.id;
  sa = await openSocket(`/api/conversations/${id}/ws`, { token: a.token });
  await sa.next(ofType("ready"));
  sb = await openSocket(`/api/conversations/${id}/ws`, { token: b.token });
  await sb.next(ofType("ready"));
  await sa.next(ofType("presence"));
});

afterAll(() => {
  sa.close();
  sb.close();
});

describe("conversation socket frames under fuzz", () => {
  it("answers every frame alone: an error event for a bad one, an ack for a good send, nothing else", async () => {
    const usedClientIds = new Map<string, number>(); // clientId → seq of the message it made
    let acceptedSends = 0;
    let typingStarts = 0; // b hears at most these: starts coalesced per window, a stop only after a start
    let typing = false;
    let run = 0;

    const expectFor = (frame: Frame): Expected => {
      if ("binary" in frame) return { kind: "error", codes: ["bad_request"] };
      const text = wire(frame.text);
      if (text === "ping") return { kind: "pong" };
      let raw: unknown;
      try {
        raw = JSON.parse(text);
      } catch {
        return { kind: "error", codes: ["bad_request"] };
      }
      const parsed = ClientFrameSchema.safeParse(raw);
      const echoed = (raw as { clientId?: unknown } | null)?.clientId;
      const clientId = typeof echoed === "string" && echoed.length <= 128 ? echoed : undefined;
      if (!parsed.success) {
        const type = typeof raw === "object" && raw !== null ? (raw as { type?: unknown }).type : undefined;
        const known = typeof type === "string" && KNOWN_TYPES.includes(type);
        return { kind: "error", codes: [known ? "validation_failed" : "bad_request"], clientId };
      }
      const f = parsed.data;
      switch (f.type) {
        case "send": {
          // No message of this room is ever quoted: every reply is to an unknown message.
          if (f.replyTo !== undefined)
            return { kind: "error", codes: ["validation_failed"], clientId: f.clientId };
          if (usedClientIds.has(f.clientId)) return { kind: "ack", clientId: f.clientId, body: null };
          const body = f.body.trim();
          if (body.length === 0 || [...body].length > MAX_BODY)
            return { kind: "error", codes: ["validation_failed"], clientId: f.clientId };
          return { kind: "ack", clientId: f.clientId, body };
        }
        case "edit": {
          const body = f.body.trim();
          if (body.length === 0 || [...body].length > MAX_BODY)
            return { kind: "error", codes: ["validation_failed"] };
          return { kind: "error", codes: ["not_found"] };
        }
        case "delete":
          return { kind: "error", codes: ["not_found"] };
        case "typing":
          if (f.active) typingStarts++;
          typing = f.active;
          return { kind: "none" };
        case "read":
          return { kind: "none" };
        case "react":
          return { kind: "error", codes: ["not_found"] };
      }
    };

    await fc.assert(
      fc.asyncProperty(frames, async (frame) => {
        run++;
        if ("text" in frame && encoder.encode(frame.text).length > MAX_FRAME) return; // over-size frames close the socket: tested on their own
        const expected = expectFor(frame);
        const context = safe(
          `frame ${run} ${"text" in frame ? show(frame.text, 200) : `binary(${frame.binary.length})`}`,
        );
        const from = sa.events.length;
        const sentinel = `sentinel-${run}`;
        if ("text" in frame) sa.sendRaw(frame.text);
        else sa.sendRaw(frame.binary.slice().buffer);
        sa.send({ type: "send", body: "", clientId: sentinel });
        await sa.next((e) => e?.type === "error" && e.clientId === sentinel);
        figures.add("inputs");
        const replies = sa.events
          .slice(from)
          .filter((e) => !(e?.type === "error" && e.clientId === sentinel));
        switch (expected.kind) {
          case "none":
            expect(replies, context).toEqual([]);
            break;
          case "pong":
            expect(replies, context).toEqual(["pong"]);
            break;
          case "error": {
            expect(replies, context).toHaveLength(1);
            const e = expectErrorEvent(replies[0], context);
            expect(expected.codes, `${context} → ${show(e)}`).toContain(e.code);
            expect(e.clientId, context).toBe(expected.clientId);
            break;
          }
          case "ack": {
            expect(replies, context).toHaveLength(1);
            const ack = replies[0];
            expect(ack.type, `${context} → ${show(ack)}`).toBe("ack");
            expect(ack.clientId, context).toBe(expected.clientId);
            expect(ack.message.sender.id, context).toBe(a.user.id);
            if (expected.body === null) {
              expect(ack.message.seq, context).toBe(usedClientIds.get(expected.clientId));
            } else {
              acceptedSends++;
              expect(ack.message, context).toMatchObject({ seq: acceptedSends, body: expected.body });
              usedClientIds.set(expected.clientId, ack.message.seq);
            }
            break;
          }
        }
      }),
      { numRuns: 400, endOnFailure: true },
    );

    // Still usable, and the other side heard exactly the accepted sends and typing.
    sa.send({ type: "send", body: "still here", clientId: "final" });
    expect((await sa.next((e) => e.type === "ack" && e.clientId === "final")).message.seq).toBe(
      acceptedSends + 1,
    );
    const heard = await sb.collect(ofType("message"), acceptedSends + 1);
    expect(heard.map((e) => e.message.seq)).toEqual(
      Array.from({ length: acceptedSends + 1 }, (_, i) => i + 1),
    );
    await new Promise((r) => setTimeout(r, 50));
    expect(sb.events.filter((e) => e.type === "message")).toHaveLength(acceptedSends + 1);
    // Typing is coalesced per window: b hears starts and stops alternating, a stop only after a
    // start, no more starts than were sent, and ends on a's final state.
    const heardTyping = sb.events.filter((e) => e.type === "typing").map((e) => e.active as boolean);
    expect(heardTyping.filter(Boolean).length).toBeLessThanOrEqual(typingStarts);
    heardTyping.forEach((active, i) => {
      if (!active) expect(heardTyping[i - 1], `stop #${i} follows a start`).toBe(true);
    });
    expect(heardTyping.at(-1) ?? false).toBe(typing);
    expect(sb.events.filter((e) => !["ready", "presence", "message", "typing"].includes(e.type))).toEqual([]);
    // Stored: exactly the accepted messages, in the room and (after the outbox runs) in D1.
    const history = await call("GET", `/api/conversations/${id}/messages?after=0&limit=100`, {
      token: b.token,
    });
    expect(history.body.messages.length).toBe(Math.min(100, acceptedSends + 1));
    await runDurableObjectAlarm(env.CONVERSATION_ROOM.getByName(id));
    expect(await d1MessageCount(id, acceptedSends + 1)).toBe(acceptedSends + 1);
    figures.add("accepted sends", acceptedSends);
  });

  it("closes a frame over the size limit with 1009 and stores nothing of it, whatever it holds", async () => {
    for (const text of [
      JSON.stringify({ type: "send", body: "x".repeat(MAX_FRAME), clientId: "big" }),
      JSON.stringify({ type: "send", body: "é".repeat(MAX_FRAME / 2 + 10), clientId: "big-utf8" }),
      "[".repeat(MAX_FRAME + 1),
    ]) {
      const s = await openSocket(`/api/conversations/${id}/ws`, { token: a.token });
      const ready = await s.next(ofType("ready"));
      s.sendRaw(text);
      expect((await s.closed).code).toBe(1009);
      figures.add("inputs");
      const after = await call("GET", `/api/conversations/${id}`, { token: a.token });
      expect(after.body.lastSeq).toBe(ready.lastSeq);
    }
    const bin = await openSocket(`/api/conversations/${id}/ws`, { token: a.token });
    await bin.next(ofType("ready"));
    bin.sendRaw(new Uint8Array(MAX_FRAME + 1).buffer);
    expect((await bin.closed).code).toBe(1009);
    figures.add("inputs");
  });
});

describe("the since parameter under fuzz", () => {
  it("upgrades for a non-negative integer, answers 422 before any upgrade otherwise", async () => {
    await fc.assert(
      fc.asyncProperty(hostileParam, async (raw) => {
        const since = safe(raw);
        const res = await upgrade(`/api/conversations/${id}/ws?since=${encodeURIComponent(since)}`, {
          token: b.token,
        });
        figures.add("inputs");
        const n = Number(since);
        const valid = since === "" || (Number.isSafeInteger(n) && n >= 0);
        if (valid) expect(res.status, show(since)).toBe(101);
        else
          expect(expectApiError({ ...res, headers: res.headers! }, `since=${show(since)}`, 422)).toBe(
            "validation_failed",
          );
      }),
      { numRuns: 60, endOnFailure: true },
    );
  });
});

describe("inbox socket frames under fuzz", () => {
  it("answers every frame with one error event and keeps delivering notices", async () => {
    const inbox = await openSocket("/api/inbox/ws", { token: b.token });
    await inbox.next(ofType("ready"));
    let sent = 0;
    await fc.assert(
      fc.asyncProperty(frames, async (frame) => {
        if ("text" in frame && (encoder.encode(frame.text).length > MAX_FRAME || wire(frame.text) === "ping"))
          return;
        if ("text" in frame) inbox.sendRaw(frame.text);
        else inbox.sendRaw(frame.binary.slice().buffer);
        sent++;
        figures.add("inputs");
      }),
      { numRuns: 100 },
    );
    const errors = await inbox.collect(ofType("error"), sent);
    for (const e of errors) expect(expectErrorEvent(e, "inbox frame").code).toBe("bad_request");
    const { conversation } = await startConversation(a.token, [b.user.id], { title: "after the fuzz" });
    expect((await inbox.next(ofType("conversation.created"))).conversation.id).toBe(conversation.id);
    inbox.sendRaw("x".repeat(MAX_FRAME + 1));
    expect((await inbox.closed).code).toBe(1009);
  });
});
