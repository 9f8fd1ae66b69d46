// The two servers a scenario runs against, behind one interface so the same load generator and the
// same checks drive both:
//   kind            "product" | "floor"
//   server          a ServedProcess (proc.mjs): CPU, memory, settle, stop
//   users           [{id, token}] the sockets are dealt to
//   prepare(name, cfg) → room   the scenario's conversation (product: seeded over REST)
//   socketUrl(room, user, batch)
//   before(room) / account(room, before, {acked, waitForD1})
//                   the server's own record of a run: every acked message stored, numbered without
//                   gaps (and for the product: the history page and the shard's copy agree)
//   metrics         the product's METRICS sink (metrics.mjs), null for the floor
//   profilers       V8 profilers of the product's isolates (--cpu-profile), [] otherwise

import { randomBytes } from "node:crypto";
import { LocalShards } from "./d1-shards.mjs";
import { floorLastSeq, floorUsers } from "./floor.mjs";
import { sleep } from "./proc.mjs";
import { seedConversation } from "./seeding.mjs";

const wsBase = (url) => url.replace(/^http/, "ws");

export class ProductTarget {
  constructor({ server, api, users, metrics, profilers }) {
    this.kind = "product";
    this.server = server;
    this.api = api;
    this.users = users;
    this.metrics = metrics;
    this.profilers = profilers;
    this.shards = new LocalShards(server.persistDir);
  }

  async prepare(name, cfg) {
    return { id: await seedConversation(this.api, this.users, cfg, name) };
  }

  socketUrl(room, user, batch) {
    const token = encodeURIComponent(user.token);
    return `${wsBase(this.server.url)}/api/conversations/${room.id}/ws?access_token=${token}${batch ? "&batch=1" : ""}`;
  }

  get owner() {
    return this.users[0];
  }

  async before(room) {
    const view = await this.api.call("GET", `/api/conversations/${room.id}`, { token: this.owner.token });
    return { lastSeq: view.lastSeq };
  }

  async account(room, before, { waitForD1 }) {
    const token = this.owner.token;
    const after = await this.api.call("GET", `/api/conversations/${room.id}`, { token });
    const page = await this.api.call(
      "GET",
      `/api/conversations/${room.id}/messages?after=${before.lastSeq}&limit=100`,
      { token },
    );
    const historyPageConsistent = page.messages.every((m, i) => m.seq === before.lastSeq + 1 + i);
    // The conversation's history shard receives the messages through the room's outbox: how far
    // behind? Read from the shard itself (the local D1 files), not through the API.
    const d1Start = performance.now();
    let d1LastSeq = null;
    const d1Deadline = waitForD1 ? d1Start + 15_000 : d1Start;
    while (performance.now() < d1Deadline) {
      d1LastSeq = this.shards.lastSeq(room.id);
      if (d1LastSeq !== null && d1LastSeq >= after.lastSeq) break;
      await sleep(50);
    }
    const d1CaughtUp = waitForD1 ? d1LastSeq !== null && d1LastSeq >= after.lastSeq : null;
    return {
      stored: after.lastSeq - before.lastSeq,
      historyPageConsistent,
      d1CaughtUp,
      d1LagSeconds: d1CaughtUp ? (performance.now() - d1Start) / 1000 : null,
    };
  }
}

export class FloorTarget {
  constructor({ server, users }) {
    this.kind = "floor";
    this.server = server;
    this.users = users ?? floorUsers(0);
    this.metrics = null;
    this.profilers = [];
  }

  static withUsers(server, n) {
    return new FloorTarget({ server, users: floorUsers(n) });
  }

  async prepare(name) {
    return { id: `${name}-${randomBytes(3).toString("hex")}` };
  }

  socketUrl(room, user, batch) {
    return `${wsBase(this.server.url)}/api/conversations/${room.id}/ws?access_token=${user.token}${batch ? "&batch=1" : ""}`;
  }

  async before(room) {
    return { lastSeq: await floorLastSeq(this.server, room.id) };
  }

  /** The floor keeps no history and no D1: only its sequence is checked. */
  async account(room, before) {
    const lastSeq = await floorLastSeq(this.server, room.id);
    return {
      stored: lastSeq - before.lastSeq,
      historyPageConsistent: null,
      d1CaughtUp: null,
      d1LagSeconds: null,
    };
  }
}
