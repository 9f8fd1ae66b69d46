// Seeding the product through its public REST API, as a client would: users (register) and one
// conversation per scenario with its members (create, then add in chunks). Also the REST client
// the scenarios use for the product's own account of a run (history, inbox).

import { randomBytes } from "node:crypto";

export class Api {
  constructor(base) {
    this.base = base;
  }
  async call(method, path, { token, body, expect = [200, 201] } = {}) {
    const headers = {};
    if (token) headers.authorization = `Bearer ${token}`;
    if (body !== undefined) headers["content-type"] = "application/json";
    const res = await fetch(this.base + path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(30_000),
    });
    const text = await res.text();
    if (!expect.includes(res.status))
      throw new Error(`${method} ${path}: ${res.status} ${text.slice(0, 300)}`);
    return text ? JSON.parse(text) : null;
  }
}

/** Runs fn(0..n-1) with at most `concurrency` at a time; the results in order. */
export async function pool(n, concurrency, fn) {
  const out = Array.from({ length: n });
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(n, concurrency) }, async () => {
      while (next < n) {
        const i = next++;
        out[i] = await fn(i);
      }
    }),
  );
  return out;
}

/** `n` fresh users: [{id, token}]. */
export async function seedUsers(api, n) {
  const run = randomBytes(3).toString("hex");
  return pool(n, 8, async (i) => {
    const res = await api.call("POST", "/api/auth/register", {
      body: {
        email: `bench-${run}-${i}@example.com`,
        password: "bench-password-1",
        firstName: "Bench",
        lastName: `User ${i}`,
      },
    });
    return { id: res.user.id, token: res.token };
  });
}

const ADD_CHUNK = 100;

/** The scenario's conversation: a direct one (cfg.direct) or a group of the first cfg.members users. */
export async function seedConversation(api, users, cfg, name) {
  const members = users.slice(0, cfg.members);
  const [owner, ...others] = members;
  if (cfg.direct) {
    const res = await api.call("POST", "/api/conversations", {
      token: owner.token,
      body: { participantIds: [others[0].id] },
    });
    return res.conversation.id;
  }
  const first = others.slice(0, ADD_CHUNK - 1);
  const res = await api.call("POST", "/api/conversations", {
    token: owner.token,
    body: { participantIds: first.map((u) => u.id), title: `bench ${name}` },
  });
  const id = res.conversation.id;
  for (let i = first.length; i < others.length; i += ADD_CHUNK) {
    const chunk = others.slice(i, i + ADD_CHUNK);
    await api.call("POST", `/api/conversations/${id}/participants`, {
      token: owner.token,
      body: { userIds: chunk.map((u) => u.id) },
    });
  }
  const view = await api.call("GET", `/api/conversations/${id}`, { token: owner.token });
  if (view.participants.length !== members.length) {
    throw new Error(
      `${name}: expected ${members.length} participants, the server has ${view.participants.length}`,
    );
  }
  return id;
}
