import { describe, expect, it } from "vitest";
import { type Audience, fanOutGroup } from "../../src/durable/room/fan-out";
import type { CommittedGroup, CommittedSend } from "../../src/durable/room/group-commit";
import type { StoredMessage } from "../../src/durable/room/storage";
import { messageView } from "../../src/views";
import { person, socketPeer, type SocketPeer } from "./support";

function audienceOf(peers: SocketPeer[], dropped: WebSocket[] = []): Audience {
  return {
    each(send) {
      for (const p of peers) if (!send(p.server, p.attachment)) dropped.push(p.server);
    },
  };
}

/** Waits until the client ends have received what was sent (delivery is asynchronous). */
async function settle(): Promise<void> {
  await new Promise((r) => setTimeout(r, 20));
}

let seq = 0;
function stored(senderId: string, body: string, clientId: string | null): StoredMessage {
  seq++;
  return {
    seq,
    id: `m_${seq}`,
    senderId,
    body,
    clientId,
    createdAt: "2026-01-01T00:00:00.000Z",
    editedAt: null,
    deletedAt: null,
  };
}

const view = (m: StoredMessage) =>
  messageView("c_unit", m, m.senderId === null ? undefined : person(m.senderId));

function group(sends: CommittedSend[]): CommittedGroup {
  return { sends, stored: sends.filter((s) => s.created).length };
}

describe("fan-out of a committed group", () => {
  it("gives batch sockets the whole group in one array frame, other sockets one frame per event", async () => {
    const plain = socketPeer("u_bob", false);
    const batched = socketPeer("u_bob", true);
    const g = group(
      [1, 2, 3].map((i) => ({
        message: stored("u_ann", `m${i}`, `c${i}`),
        created: true,
        clientId: `c${i}`,
        from: null,
      })),
    );
    fanOutGroup(audienceOf([plain, batched]), g, view);
    await settle();
    expect(batched.frames).toHaveLength(1);
    expect(batched.frames[0]).toEqual(g.sends.map((s) => ({ type: "message", message: view(s.message) })));
    expect(plain.frames).toEqual(g.sends.map((s) => ({ type: "message", message: view(s.message) })));
  });

  it("gives the sending socket its acks in place of its messages, in order, and others the messages", async () => {
    const sender = socketPeer("u_ann", true);
    const otherTab = socketPeer("u_ann", true);
    const bob = socketPeer("u_bob", false);
    const mine = stored("u_ann", "mine", "a1");
    const rest = stored("u_bob", "via rest", null);
    const g = group([
      { message: mine, created: true, clientId: "a1", from: sender.server },
      { message: rest, created: true, clientId: null, from: null },
    ]);
    fanOutGroup(audienceOf([sender, otherTab, bob]), g, view);
    await settle();
    expect(sender.frames).toEqual([
      [
        { type: "ack", clientId: "a1", message: view(mine) },
        { type: "message", message: view(rest) },
      ],
    ]);
    expect(otherTab.frames).toEqual([
      [
        { type: "message", message: view(mine) },
        { type: "message", message: view(rest) },
      ],
    ]);
    expect(bob.frames).toEqual([
      { type: "message", message: view(mine) },
      { type: "message", message: view(rest) },
    ]);
  });

  it("answers a clientId resend with an ack only: nobody else hears it again", async () => {
    const sender = socketPeer("u_ann", true);
    const bob = socketPeer("u_bob", true);
    const original = stored("u_ann", "once", "dup");
    fanOutGroup(
      audienceOf([sender, bob]),
      group([{ message: original, created: false, clientId: "dup", from: sender.server }]),
      view,
    );
    await settle();
    // One event is a frame of its own, not an array of one.
    expect(sender.frames).toEqual([{ type: "ack", clientId: "dup", message: view(original) }]);
    expect(bob.frames).toEqual([]);
  });

  it("reports a socket whose send fails, and still serves the others", async () => {
    const gone = socketPeer("u_bob", false);
    const alive = socketPeer("u_cy", false);
    gone.server.close(1000, "gone");
    const dropped: WebSocket[] = [];
    fanOutGroup(
      audienceOf([gone, alive], dropped),
      group([{ message: stored("u_ann", "still", null), created: true, clientId: null, from: null }]),
      view,
    );
    await settle();
    expect(dropped).toEqual([gone.server]);
    expect(alive.frames).toHaveLength(1);
  });

  it("sends nothing for an empty group", async () => {
    const bob = socketPeer("u_bob", true);
    fanOutGroup(audienceOf([bob]), group([]), view);
    await settle();
    expect(bob.frames).toEqual([]);
  });
});
