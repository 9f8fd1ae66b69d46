import { env } from "cloudflare:workers";
import { afterAll, describe, expect, it } from "vitest";
import { limitsFrom } from "../../src/config";
import { api, registerUser, sendMessage, startConversation } from "../helpers/api";
import { call } from "../helpers/call";
import { Figures, expectApiError } from "../helpers/checks";
import { ofType, openSocket } from "../helpers/socket";

/** MESSAGE_RATE_PER_10S: sends, edits and deletes share one budget per user per room (small here). */
const RATE = limitsFrom(env).messageRatePer10s;

const figures = new Figures("message-rate");
afterAll(() => figures.print());

describe("per-user message rate", () => {
  it("answers rate_limited past the per-user message rate and stores nothing of it", async () => {
    const a = await registerUser();
    const b = await registerUser();
    const { conversation } = await startConversation(a.token, [b.user.id]);
    const sa = await openSocket(`/api/conversations/${conversation.id}/ws`, { token: a.token });
    await sa.next(ofType("ready"));
    for (let i = 0; i < RATE + 2; i++) sa.send({ type: "send", body: `m${i}`, clientId: `r${i}` });
    const acks = await sa.collect(ofType("ack"), RATE);
    const errors = await sa.collect(ofType("error"), 2);
    expect(acks.map((e) => e.clientId)).toEqual(Array.from({ length: RATE }, (_, i) => `r${i}`));
    expect(errors).toEqual([
      expect.objectContaining({ code: "rate_limited", clientId: `r${RATE}` }),
      expect.objectContaining({ code: "rate_limited", clientId: `r${RATE + 1}` }),
    ]);
    const rest = await api("POST", `/api/conversations/${conversation.id}/messages`, {
      token: a.token,
      body: { body: "rest" },
    });
    expect(rest.status).toBe(429);
    expect(Number(rest.headers.get("retry-after"))).toBeGreaterThan(0);
    expect(
      (await api("GET", `/api/conversations/${conversation.id}/messages`, { token: a.token })).body.messages,
    ).toHaveLength(RATE);
    sa.close();
  });

  it("counts edits and deletes as writes: the same budget as sends, over REST and socket", async () => {
    expect(RATE).toBe(4); // the sequence below spends exactly this budget
    const a = await registerUser();
    const b = await registerUser();
    const { conversation } = await startConversation(a.token, [b.user.id]);
    const first = await sendMessage(a.token, conversation.id, "one");
    const path = `/api/conversations/${conversation.id}/messages/${first.id}`;
    expect((await call("PATCH", path, { token: a.token, body: { body: "two" } })).status).toBe(200);
    expect((await call("PATCH", path, { token: a.token, body: { body: "three" } })).status).toBe(200);
    const sa = await openSocket(`/api/conversations/${conversation.id}/ws`, { token: a.token });
    await sa.next(ofType("ready"));
    sa.send({ type: "edit", messageId: first.id, body: "four" });
    expect(await sa.next(ofType("message.updated"))).toMatchObject({ message: { body: "four" } });
    sa.send({ type: "edit", messageId: first.id, body: "five" });
    expect(await sa.next(ofType("error"))).toMatchObject({ code: "rate_limited" });
    sa.send({ type: "delete", messageId: first.id });
    expect(await sa.next(ofType("error"))).toMatchObject({ code: "rate_limited" });
    const rest = await call("PATCH", path, { token: a.token, body: { body: "six" } });
    expect(expectApiError(rest, "edit over the rate", 429)).toBe("rate_limited");
    expect(Number(rest.headers.get("retry-after"))).toBeGreaterThan(0);
    const history = await call("GET", `/api/conversations/${conversation.id}/messages`, { token: b.token });
    expect(history.body.messages).toEqual([expect.objectContaining({ body: "four", deletedAt: null })]);
    figures.add("inputs", 6);
    sa.close();
  });

  it("counts reactions, renames and removals against the same budget as sends, over REST and socket", async () => {
    expect(RATE).toBe(4);
    const a = await registerUser();
    const b = await registerUser();
    const c = await registerUser();
    const { conversation } = await startConversation(a.token, [b.user.id, c.user.id], { title: "G" });
    const id = conversation.id;
    const first = await sendMessage(a.token, id, "one");
    const react = (emoji: string, method = "PUT") =>
      call(method, `/api/conversations/${id}/messages/${first.id}/reactions/${encodeURIComponent(emoji)}`, {
        token: a.token,
      });
    expect((await react("👍")).status).toBe(204);
    // Asking for what is so already changes nothing and costs nothing.
    expect((await react("👍")).status).toBe(204);
    expect(
      (await call("PATCH", `/api/conversations/${id}`, { token: a.token, body: { title: "H" } })).status,
    ).toBe(200);
    const sa = await openSocket(`/api/conversations/${id}/ws`, { token: a.token });
    await sa.next(ofType("ready"));
    sa.send({ type: "react", messageId: first.id, emoji: "🎉", active: true });
    expect(await sa.next(ofType("reaction"))).toMatchObject({ emoji: "🎉" });
    sa.send({ type: "react", messageId: first.id, emoji: "😮", active: true });
    expect(await sa.next(ofType("error"))).toMatchObject({ code: "rate_limited" });
    expect(expectApiError(await react("+1"), "reaction over the rate", 429)).toBe("rate_limited");
    const rename = await call("PATCH", `/api/conversations/${id}`, { token: a.token, body: { title: "I" } });
    expect(expectApiError(rename, "rename over the rate", 429)).toBe("rate_limited");
    const remove = await call("DELETE", `/api/conversations/${id}/participants/${c.user.id}`, {
      token: a.token,
    });
    expect(expectApiError(remove, "removal over the rate", 429)).toBe("rate_limited");
    const view = await call("GET", `/api/conversations/${id}`, { token: b.token });
    expect(view.body).toMatchObject({ title: "H" });
    expect(view.body.participants).toHaveLength(3);
    const history = await call("GET", `/api/conversations/${id}/messages`, { token: b.token });
    expect(history.body.messages[0].reactions).toEqual([
      { emoji: "👍", count: 1 },
      { emoji: "🎉", count: 1 },
    ]);
    // Leaving is never refused for being busy.
    expect((await call("DELETE", `/api/conversations/${id}`, { token: a.token })).status).toBe(204);
    figures.add("inputs", 8);
    sa.close();
  });
});
