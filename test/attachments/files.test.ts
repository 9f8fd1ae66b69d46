import { evictDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { Attachment, Message } from "../../src/protocol/models";
import { api, registerUser, sendMessage, startConversation } from "../helpers/api";
import { chunked, download, sendFiles, storedKeys, upload, uploaded } from "../helpers/attachments";
import { historyDbOf } from "../helpers/d1";
import { gif, jpeg, png, text } from "../helpers/files";
import { drainOutbox } from "../helpers/rooms";
import { ofType, openSocket } from "../helpers/socket";
import { until } from "../helpers/wait";

const wsPath = (id: string) => `/api/conversations/${id}/ws`;
const messagesPath = (id: string) => `/api/conversations/${id}/messages`;
const room = (id: string) => env.CONVERSATION_ROOM.getByName(id);
const readerOf = (url: string) => new URL(url, "https://x").searchParams.get("u");

async function pair() {
  const a = await registerUser("Ada", "Sender");
  const b = await registerUser("Bo", "Reader");
  const { conversation } = await startConversation(a.token, [b.user.id]);
  return { a, b, id: conversation.id };
}

async function history(id: string, token: string): Promise<Message[]> {
  const res = await api<{ messages: Message[] }>("GET", messagesPath(id), { token });
  expect(res.status).toBe(200);
  return res.body.messages;
}

describe("attachments", () => {
  it("an image uploaded and sent reaches the other participant, who fetches it by a link of their own", async () => {
    const { a, b, id } = await pair();
    const bytes = png(800, 600);
    const file = await uploaded(a.token, id, bytes, "image/png", "holiday.png");
    expect(file).toMatchObject({
      name: "holiday.png",
      contentType: "image/png",
      size: bytes.byteLength,
      width: 800,
      height: 600,
    });
    expect(file.id).toMatch(/^a_[0-9a-z]{20}$/);
    expect(readerOf(file.url)).toBe(a.user.id);

    const sb = await openSocket(wsPath(id), { token: b.token });
    await sb.next(ofType("ready"));
    const sent = await sendFiles(a.token, id, [file.id]);
    expect(sent.status).toBe(201);
    expect(sent.body.message).toMatchObject({
      body: "",
      attachments: [{ ...file, url: expect.any(String) }],
    });
    const live = (await sb.next(ofType("message"))).message as Message;
    expect(live.attachments).toHaveLength(1);
    expect(readerOf(live.attachments[0]!.url)).toBe(b.user.id);

    const [onB] = await history(id, b.token);
    const link = onB!.attachments[0]!.url;
    expect(readerOf(link)).toBe(b.user.id);
    const got = await download(link);
    expect(got.status).toBe(200);
    expect(got.bytes).toEqual(bytes);
    expect(got.headers.get("content-type")).toBe("image/png");
    expect(got.headers.get("content-disposition")).toMatch(/^inline; filename="holiday.png"/);
    expect(got.headers.get("x-content-type-options")).toBe("nosniff");
    expect(got.headers.get("content-security-policy")).toContain("sandbox");
    expect(got.headers.get("cache-control")).toMatch(/^private, max-age=\d+$/);
    // The bare path with the Bearer token works too (not cached).
    const bearer = await download(link.split("?")[0]!, b.token);
    expect(bearer.status).toBe(200);
    expect(bearer.headers.get("cache-control")).toBe("no-store");
    sb.close();
  });

  it("a file sent over the socket comes back in the ack and to the others, each with their own link", async () => {
    const { a, b, id } = await pair();
    const file = await uploaded(a.token, id, gif(16, 9), "image/gif");
    expect(file.name).toBe("image.gif");
    const sa = await openSocket(wsPath(id), { token: a.token });
    const sb = await openSocket(wsPath(id), { token: b.token });
    await Promise.all([sa.next(ofType("ready")), sb.next(ofType("ready"))]);
    sa.send({ type: "send", body: "look", clientId: "f1", attachments: [file.id] });
    const ack = await sa.next(ofType("ack"));
    const live = await sb.next(ofType("message"));
    expect(ack.message.attachments[0]).toMatchObject({ id: file.id, width: 16, height: 9 });
    expect(readerOf(ack.message.attachments[0].url)).toBe(a.user.id);
    expect(readerOf(live.message.attachments[0].url)).toBe(b.user.id);
    expect((await download(live.message.attachments[0].url)).status).toBe(200);
    // An edit keeps the files; everyone hears it with their own links.
    sa.send({ type: "edit", messageId: ack.message.id, body: "look at this" });
    const edited = await sb.next(ofType("message.updated"));
    expect(edited.message.body).toBe("look at this");
    expect(readerOf(edited.message.attachments[0].url)).toBe(b.user.id);
    sa.close();
    sb.close();
  });

  it("nobody but a participant of now gets a file: outsiders, people who left and bad links get 404", async () => {
    const a = await registerUser("Ann", "Owner");
    const b = await registerUser("Ben", "Leaver");
    const c = await registerUser("Cy", "Outsider");
    const { conversation } = await startConversation(a.token, [b.user.id], { title: "team" });
    const id = conversation.id;
    const file = await uploaded(a.token, id, png(2, 2), "image/png", "plan.png");
    await sendFiles(a.token, id, [file.id], "the plan");
    const [message] = await history(id, b.token);
    const bLink = message!.attachments[0]!.url;
    const path = bLink.split("?")[0]!;
    expect((await download(bLink)).status).toBe(200);

    // An outsider: with their token, with a link naming them, with B's link changed to name them.
    expect((await download(path, c.token)).status).toBe(404);
    const forged = new URL(bLink, "https://x");
    forged.searchParams.set("u", c.user.id);
    expect((await download(forged.pathname + forged.search)).status).toBe(404);
    const tampered = new URL(bLink, "https://x");
    tampered.searchParams.set("s", "x".repeat(43));
    expect((await download(tampered.pathname + tampered.search)).status).toBe(404);
    expect((await download(path)).status).toBe(401);
    // An outsider cannot upload to the conversation, and nothing of theirs is stored.
    const before = await storedKeys(id);
    expect((await upload(c.token, id, png(1, 1), "image/png")).status).toBe(404);
    expect(await storedKeys(id)).toEqual(before);

    // B leaves: the link B was given, and B's token, no longer serve the file.
    expect(
      (await api("DELETE", `/api/conversations/${id}/participants/${b.user.id}`, { token: b.token })).status,
    ).toBe(204);
    const afterLeaving = await download(bLink);
    expect(afterLeaving.status).toBe(404);
    expect(afterLeaving.bytes.byteLength).toBeLessThan(200); // the error body, not the file
    expect((await download(path, b.token)).status).toBe(404);
    // The sender still gets it.
    expect((await download(path, a.token)).status).toBe(200);
  });

  it("a content type that lies about the bytes is kept as a plain file, never served inline", async () => {
    const { a, b, id } = await pair();
    const bytes = text("<svg onload=alert(1)>not a png</svg>");
    const file = await uploaded(a.token, id, bytes, "image/png", "fake.png");
    expect(file).toMatchObject({ contentType: "application/octet-stream", width: null, height: null });
    await sendFiles(a.token, id, [file.id]);
    const [message] = await history(id, b.token);
    const got = await download(message!.attachments[0]!.url);
    expect(got.status).toBe(200);
    expect(got.headers.get("content-type")).toBe("application/octet-stream");
    expect(got.headers.get("content-disposition")).toMatch(/^attachment; /);
    // Bytes that are a JPEG are one, whatever was declared; other allowed types stay as declared.
    const photo = await uploaded(a.token, id, jpeg(30, 20, { orientation: 6 }), "application/octet-stream");
    expect(photo).toMatchObject({ contentType: "image/jpeg", width: 20, height: 30, name: "image.jpg" });
    const pdf = await uploaded(a.token, id, text("%PDF-1.7 ..."), "application/pdf", "report.pdf");
    expect(pdf).toMatchObject({ contentType: "application/pdf", width: null });
    const served = await download(pdf.url);
    expect(served.headers.get("content-disposition")).toMatch(/^attachment; filename="report.pdf"/);
  });

  it("a type off the allow-list and an empty file are refused before anything is stored", async () => {
    const { a, id } = await pair();
    const svg = await upload(a.token, id, text("<svg/>"), "image/svg+xml", "x.svg");
    expect(svg.status).toBe(422);
    expect(svg.body.error?.code).toBe("validation_failed");
    expect((await upload(a.token, id, text("<p>hi</p>"), "text/html")).status).toBe(422);
    expect((await upload(a.token, id, new Uint8Array(), "text/plain")).status).toBe(422);
    expect(await storedKeys(id)).toEqual([]);
  });

  it("a chunked upload (no Content-Length) within the limit is stored whole", async () => {
    const { a, id } = await pair();
    const res = await upload(a.token, id, chunked(4, 1000), "text/plain", "notes.txt");
    expect(res.status).toBe(201);
    expect(res.body.attachment).toMatchObject({ size: 4000, contentType: "text/plain" });
    expect(await storedKeys(id)).toEqual([`attachments/${id}/${res.body.attachment.id}`]);
  });

  it("refuses files from another conversation, another user, unknown or sent already; nothing changes", async () => {
    const { a, b, id } = await pair();
    const other = (await startConversation(a.token, [(await registerUser()).user.id])).conversation.id;
    const elsewhere = await uploaded(a.token, other, png(1, 1), "image/png");
    const bobs = await uploaded(b.token, id, png(1, 1), "image/png");
    const mine = await uploaded(a.token, id, png(1, 1), "image/png");
    await sendMessage(a.token, id, "before");

    const refused = async (ids: string[], pattern: RegExp) => {
      const res = await sendFiles(a.token, id, ids, "with files");
      expect(res.status).toBe(422);
      expect(res.text).toMatch(pattern);
    };
    await refused([elsewhere.id], /not a file uploaded to this conversation/);
    await refused([bobs.id], /uploaded by someone else/);
    await refused(["a_00000000000000000000"], /not a file uploaded to this conversation/);
    await refused([mine.id, mine.id], /listed twice/);
    // A refusal in a list claims nothing: the good file is still free to send.
    await refused([mine.id, bobs.id], /uploaded by someone else/);
    expect((await sendFiles(a.token, id, [mine.id], "now")).status).toBe(201);
    await refused([mine.id], /already sent/);

    // Over the socket: an error event with the clientId; nothing stored.
    const sa = await openSocket(wsPath(id), { token: a.token });
    await sa.next(ofType("ready"));
    sa.send({ type: "send", body: "again", clientId: "dup", attachments: [mine.id] });
    const error = await sa.next(ofType("error"));
    expect(error).toMatchObject({ code: "validation_failed", clientId: "dup" });
    expect(error.message).toMatch(/already sent/);
    // Neither text nor files: refused.
    expect((await sendFiles(a.token, id, [], "")).status).toBe(422);
    sa.close();

    const messages = await history(id, a.token);
    expect(messages.map((m) => m.body)).toEqual(["before", "now"]);
    expect(messages[1]!.attachments.map((f) => f.id)).toEqual([mine.id]);
  });

  it("two sends racing for one file: one gets it, the other is refused", async () => {
    const { a, id } = await pair();
    const file = await uploaded(a.token, id, png(1, 1), "image/png");
    const sa = await openSocket(wsPath(id), { token: a.token });
    await sa.next(ofType("ready"));
    // Frames arriving together are committed in one group.
    sa.send({ type: "send", body: "one", clientId: "r1", attachments: [file.id] });
    sa.send({ type: "send", body: "two", clientId: "r2", attachments: [file.id] });
    const ack = await sa.next(ofType("ack"));
    const error = await sa.next(ofType("error"));
    expect(ack.message.attachments.map((f: Attachment) => f.id)).toEqual([file.id]);
    expect(error).toMatchObject({ clientId: "r2", code: "validation_failed" });
    sa.close();
  });

  it("a resend with the same clientId is the original message, files included", async () => {
    const { a, id } = await pair();
    const file = await uploaded(a.token, id, png(4, 4), "image/png");
    const first = await sendFiles(a.token, id, [file.id], "once", "same");
    const again = await sendFiles(a.token, id, [file.id], "once", "same");
    expect(first.status).toBe(201);
    expect(again.status).toBe(200);
    expect(again.body.message.id).toBe(first.body.message.id);
    expect(again.body.message.attachments.map((f) => f.id)).toEqual([file.id]);
  });

  it("files survive the room's eviction, before and after they are sent", async () => {
    const { a, b, id } = await pair();
    const sent = await uploaded(a.token, id, png(10, 20), "image/png");
    const waiting = await uploaded(a.token, id, gif(5, 5), "image/gif");
    await sendFiles(a.token, id, [sent.id]);
    await evictDurableObject(room(id));
    const [message] = await history(id, b.token);
    expect(message!.attachments).toMatchObject([{ id: sent.id, width: 10, height: 20 }]);
    expect((await download(message!.attachments[0]!.url)).status).toBe(200);
    // The upload made before the eviction can still be sent, once.
    expect((await sendFiles(a.token, id, [waiting.id])).status).toBe(201);
    expect((await sendFiles(a.token, id, [waiting.id])).status).toBe(422);
  });

  it("deleting a message deletes its files, over REST at once and over the socket soon after", async () => {
    const { a, b, id } = await pair();
    const one = await uploaded(a.token, id, png(1, 1), "image/png");
    const two = await uploaded(a.token, id, text("hello"), "text/plain", "hello.txt");
    const three = await uploaded(a.token, id, gif(2, 2), "image/gif");
    const m1 = (await sendFiles(a.token, id, [one.id, two.id])).body.message;
    const m2 = (await sendFiles(a.token, id, [three.id])).body.message;
    const [, bView] = await history(id, b.token);
    const bLink = bView!.attachments[0]!.url;
    expect(await storedKeys(id)).toHaveLength(3);

    expect((await api("DELETE", `${messagesPath(id)}/${m1.id}`, { token: a.token })).status).toBe(204);
    expect(await storedKeys(id)).toEqual([`attachments/${id}/${three.id}`]);
    const [tombstone] = await history(id, b.token);
    expect(tombstone).toMatchObject({ deletedAt: expect.any(String), attachments: [] });

    const sa = await openSocket(wsPath(id), { token: a.token });
    await sa.next(ofType("ready"));
    sa.send({ type: "delete", messageId: m2.id });
    await until("the socket deletion's file to go", async () => (await storedKeys(id)).length === 0);
    expect((await download(bLink)).status).toBe(404);
    sa.close();
  });

  it("the shard's copy of a message carries its files' descriptions, without links", async () => {
    const { a, id } = await pair();
    const file = await uploaded(a.token, id, png(7, 3), "image/png", "s.png");
    await sendFiles(a.token, id, [file.id]);
    await drainOutbox(id, 1);
    const row = await (
      await historyDbOf(id)
    )
      .prepare("SELECT attachments FROM messages WHERE conversation_id = ?")
      .bind(id)
      .first<{ attachments: string }>();
    const { url: _url, ...described } = file;
    expect(JSON.parse(row!.attachments)).toEqual([described]);
  });

  it("an upload not sent yet is its uploader's alone", async () => {
    const { a, b, id } = await pair();
    const file = await uploaded(a.token, id, png(3, 3), "image/png");
    expect((await download(file.url)).status).toBe(200);
    expect((await download(file.url.split("?")[0]!, b.token)).status).toBe(404);
  });
});
