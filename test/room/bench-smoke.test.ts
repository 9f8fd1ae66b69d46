import { describe, expect, it } from "vitest";
import { api, registerUser, startConversation } from "../helpers/api";
import { type TestSocket, ofType, openSocket } from "../helpers/socket";

/**
 * The benchmark (`npm run bench`, test/bench/) in miniature, inside workerd: real WebSocket upgrades
 * through the Worker, several senders with a bounded in-flight window each, and the bench's checks
 * per socket by seq — every message reaches every other socket exactly once and in order, every send
 * is acked once, and history agrees.
 */

const SENDERS = 3;
const PER_SENDER = 8;
const WINDOW = 3;
const TOTAL = SENDERS * PER_SENDER;

interface Receipt {
  seq: number;
  body: string;
  ack: boolean;
}

function receiptsOf(socket: TestSocket): Receipt[] {
  return socket.events
    .filter((e) => e?.type === "message" || e?.type === "ack")
    .map((e) => ({ seq: e.message.seq, body: e.message.body, ack: e.type === "ack" }));
}

describe("bench smoke", () => {
  it("a few clients, a few messages: nothing lost, duplicated or out of order", async () => {
    const users = await Promise.all([registerUser("Bench"), registerUser("Bench"), registerUser("Bench")]);
    const [owner, ...others] = users;
    const { conversation } = await startConversation(
      owner!.token,
      others.map((u) => u.user.id),
      { title: "bench smoke" },
    );
    const path = `/api/conversations/${conversation.id}/ws`;
    // Four sockets: every user, and a second tab of the owner (it must get the owner's messages too).
    const sockets = await Promise.all(
      [...users.map((u) => u.token), owner!.token].map((token) => openSocket(path, { token })),
    );
    const readies = await Promise.all(sockets.map((s) => s.next(ofType("ready"))));
    const base = readies[0].lastSeq as number;
    for (const r of readies) expect(r.lastSeq).toBe(base);

    // Senders 0..2 each keep at most WINDOW messages unacknowledged, as the bench's load generator does.
    await Promise.all(
      sockets.slice(0, SENDERS).map(async (socket, sender) => {
        let next = 0;
        let acked = 0;
        const send = () => {
          const i = next++;
          socket.send({
            type: "send",
            body: `${sender}|${i}|${Date.now()}|`,
            clientId: `smoke-${sender}-${i}`,
          });
        };
        for (let k = 0; k < Math.min(WINDOW, PER_SENDER); k++) send();
        while (acked < PER_SENDER) {
          const ack = await socket.next(ofType("ack"), 10_000);
          expect(ack.clientId).toBe(`smoke-${sender}-${acked}`);
          acked++;
          if (next < PER_SENDER) send();
        }
      }),
    );

    // Every socket ends with TOTAL receipts (its own sends as acks, the rest as messages).
    for (const socket of sockets) {
      const needed = TOTAL - socket.events.filter(ofType("ack")).length;
      await socket.collect(ofType("message"), needed, 10_000);
    }
    await new Promise((r) => setTimeout(r, 100)); // anything extra (a duplicate) would arrive now

    const expectedSeqs = Array.from({ length: TOTAL }, (_, i) => base + 1 + i);
    sockets.forEach((socket, k) => {
      const receipts = receiptsOf(socket);
      const seqs = receipts.map((r) => r.seq);
      // Exactly once each (no loss, no duplicate), in increasing seq (no reordering).
      expect(seqs, `socket ${k}`).toEqual(expectedSeqs);
      const ownSender = k < SENDERS ? k : -1;
      for (const r of receipts) {
        const sender = Number(r.body.split("|")[0]);
        // A socket gets its own sends as acks and everyone else's (its user's other tab included) as messages.
        expect(r.ack, `socket ${k} seq ${r.seq}`).toBe(sender === ownSender);
      }
      expect(socket.events.filter(ofType("error"))).toEqual([]);
    });

    // The server's record agrees: the same messages, numbered without gaps, in the history.
    const history = await api(
      "GET",
      `/api/conversations/${conversation.id}/messages?after=${base}&limit=100`,
      {
        token: others[0]!.token,
      },
    );
    expect(history.status).toBe(200);
    expect(history.body.messages.map((m: { seq: number }) => m.seq)).toEqual(expectedSeqs);
    const perSender = (s: number) =>
      history.body.messages
        .filter((m: { body: string }) => m.body.startsWith(`${s}|`))
        .map((m: { body: string }) => Number(m.body.split("|")[1]));
    for (let s = 0; s < SENDERS; s++)
      expect(perSender(s)).toEqual(Array.from({ length: PER_SENDER }, (_, i) => i));

    for (const socket of sockets) socket.close();
  });

  it("web clients (a read per message, typing, a tab reopening with since): still nothing lost, duplicated or out of order", async () => {
    // The bench's web scenarios in miniature: two senders, one of them also reading every message it
    // gets; a third user reads and types, closes its tab halfway and reopens it with ?since=.
    const users = await Promise.all([registerUser("Bench"), registerUser("Bench"), registerUser("Bench")]);
    const [owner, reader, viewer] = users;
    const { conversation } = await startConversation(owner!.token, [reader!.user.id, viewer!.user.id], {
      title: "bench smoke, web clients",
    });
    const path = `/api/conversations/${conversation.id}/ws?batch=1`;
    const senders = await Promise.all([owner!, reader!].map((u) => openSocket(path, { token: u.token })));
    const tab = await openSocket(path, { token: viewer!.token });
    const readies = await Promise.all([...senders, tab].map((s) => s.next(ofType("ready"))));
    const base = readies[0].lastSeq as number;
    const total = 2 * PER_SENDER;
    const half = total / 2;

    const sending = senders.map(async (socket, sender) => {
      let next = 0;
      let acked = 0;
      const send = () => {
        const i = next++;
        socket.send({ type: "send", body: `${sender}|${i}|${Date.now()}|`, clientId: `web-${sender}-${i}` });
      };
      for (let k = 0; k < Math.min(WINDOW, PER_SENDER); k++) send();
      while (acked < PER_SENDER) {
        await socket.next(ofType("ack"), 10_000);
        acked++;
        if (next < PER_SENDER) send();
      }
    });
    // The second sender reads every message of the other one as it arrives, like an open web client.
    const reading = (async () => {
      for (let i = 0; i < PER_SENDER; i++) {
        const m = await senders[1]!.next(ofType("message"), 10_000);
        senders[1]!.send({ type: "read", seq: m.message.seq });
      }
    })();

    // The viewer's first tab: half the messages (reading each, typing once), then it closes.
    tab.send({ type: "typing", active: true });
    const firstHalf: number[] = [];
    for (let i = 0; i < half; i++) {
      const m = await tab.next(ofType("message"), 10_000);
      firstHalf.push(m.message.seq);
      tab.send({ type: "read", seq: m.message.seq });
    }
    tab.send({ type: "typing", active: false });
    tab.close();
    await tab.closed;
    const last = firstHalf[firstHalf.length - 1]!;
    // The tab comes back with ?since=: the replay and the live messages together, each exactly once.
    const reopened = await openSocket(`${path}&since=${last}`, { token: viewer!.token });
    await reopened.next(ofType("ready"));
    const secondHalf = (await reopened.collect(ofType("message"), base + total - last, 10_000)).map(
      (e) => e.message.seq,
    );
    await Promise.all([...sending, reading]);
    for (const socket of senders) {
      const needed = total - socket.events.filter(ofType("ack")).length;
      await socket.collect(ofType("message"), needed - (socket === senders[1] ? PER_SENDER : 0), 10_000);
    }
    // The viewer's reads reach the others (possibly coalesced: at least its position moved once).
    await senders[0]!.next((e) => e?.type === "read" && e.userId === viewer!.user.id, 10_000);
    await new Promise((r) => setTimeout(r, 100)); // anything extra (a duplicate) would arrive now

    const expectedSeqs = Array.from({ length: total }, (_, i) => base + 1 + i);
    expect(firstHalf).toEqual(expectedSeqs.slice(0, half));
    expect([...firstHalf, ...secondHalf]).toEqual(expectedSeqs);
    expect(reopened.events.filter(ofType("message")).map((e) => e.message.seq)).toEqual(secondHalf);
    for (const [k, socket] of senders.entries()) {
      const seqs = receiptsOf(socket).map((r) => r.seq);
      expect(seqs, `sender ${k}`).toEqual(expectedSeqs);
      expect(socket.events.filter(ofType("error")), `sender ${k}`).toEqual([]);
    }
    expect(reopened.events.filter(ofType("error"))).toEqual([]);

    for (const socket of [...senders, reopened]) socket.close();
  });
});
