import { runDurableObjectAlarm } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { limitsFrom } from "../../src/config";
import { registerUser, startConversation } from "../helpers/api";
import { chunked, download, sendFiles, storedKeys, upload, uploaded } from "../helpers/attachments";
import { png } from "../helpers/files";
import { ofType, openSocket } from "../helpers/socket";
import { until } from "../helpers/wait";

/** This project's settings: 512-byte files, two per message, unsent uploads due at once, 1000 bytes an hour. */
const limits = limitsFrom(env);

async function pair() {
  const a = await registerUser();
  const b = await registerUser();
  return { a, b, id: (await startConversation(a.token, [b.user.id])).conversation.id };
}

describe("attachment limits", () => {
  it("refuses a file whose Content-Length is over the limit at once (413), storing nothing", async () => {
    expect(limits.attachmentMaxBytes).toBe(512);
    const { a, id } = await pair();
    const res = await upload(a.token, id, new Uint8Array(513), "application/octet-stream", "big.bin");
    expect(res.status).toBe(413);
    expect(res.body.error?.code).toBe("payload_too_large");
    expect(await storedKeys(id)).toEqual([]);
    // At the limit exactly, it is stored.
    expect((await upload(a.token, id, new Uint8Array(512).fill(1), "application/octet-stream")).status).toBe(
      201,
    );
  });

  it("cuts off a chunked upload the moment it grows past the limit (413); nothing of it stays", async () => {
    const { a, id } = await pair();
    const res = await upload(a.token, id, chunked(3, 300), "text/plain", "endless.txt");
    expect(res.status).toBe(413);
    expect(res.body.error?.code).toBe("payload_too_large");
    expect(await storedKeys(id)).toEqual([]);
  });

  it("counts uploaded bytes against the user's hourly budget across conversations (429)", async () => {
    expect(limits.userBudgets.uploadBytes.capacity).toBe(1000);
    const { a, b, id } = await pair();
    const other = (await startConversation(a.token, [(await registerUser()).user.id])).conversation.id;
    // A declared length is paid before anything is stored (unsent files go at once in this project,
    // so what is stored is not what this looks at).
    expect((await upload(a.token, id, new Uint8Array(500).fill(1), "text/plain")).status).toBe(201);
    expect((await upload(a.token, other, new Uint8Array(400).fill(1), "text/plain")).status).toBe(201);
    const over = await upload(a.token, other, new Uint8Array(200).fill(1), "text/plain");
    expect(over.status).toBe(429);
    expect(over.body.error?.code).toBe("rate_limited");
    // A chunked body is paid once read: refused the same way.
    expect((await upload(a.token, id, chunked(2, 100), "text/plain")).status).toBe(429);
    // Another user's budget is their own.
    expect((await upload(b.token, id, new Uint8Array(300).fill(1), "text/plain")).status).toBe(201);
  });

  it("deletes an upload never sent once the TTL has passed, from the room's alarm", async () => {
    const { a, id } = await pair();
    const file = await uploaded(a.token, id, png(2, 2), "image/png");
    const stub = env.CONVERSATION_ROOM.getByName(id);
    // The TTL is 0 here: the file is due at once; the alarm (run now, or already run by itself) deletes it.
    await until("the unsent upload to be deleted", async () => {
      await runDurableObjectAlarm(stub);
      return (await storedKeys(id)).length === 0;
    });
    expect((await download(file.url)).status).toBe(404);
    const late = await sendFiles(a.token, id, [file.id], "too late");
    expect(late.status).toBe(422);
    expect(late.text).toMatch(/expired/);
  });

  it("refuses more than ATTACHMENTS_PER_MESSAGE files on one message, over REST and the socket", async () => {
    const { a, id } = await pair();
    const ids = ["a_00000000000000000001", "a_00000000000000000002", "a_00000000000000000003"];
    const rest = await sendFiles(a.token, id, ids, "three");
    expect(rest.status).toBe(422);
    expect(rest.text).toMatch(/at most 2 attachments/);
    const sa = await openSocket(`/api/conversations/${id}/ws`, { token: a.token });
    await sa.next(ofType("ready"));
    sa.send({ type: "send", body: "three", clientId: "t", attachments: ids });
    const error = await sa.next(ofType("error"));
    expect(error).toMatchObject({ code: "validation_failed", clientId: "t" });
    expect(error.message).toMatch(/at most 2 attachments/);
    sa.close();
  });
});
