// A stand-in for the application that embeds the chat: its own origin (another port), a page that
// frames the chat and hands it tokens over postMessage, and a backend that provisions its user and
// mints tokens through the server API, exactly as README's "Embed it in your app" shows.

import { randomBytes } from "node:crypto";
import { createServer } from "node:http";

export const SERVER_API_KEY = randomBytes(32).toString("hex");

function page(chat) {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Host app</title></head>
<body>
<h1>Host app</h1>
<iframe id="chat" src="${chat}/" title="Chat" style="width: 1000px; height: 640px"></iframe>
<pre id="me"></pre>
<script>
  const chat = ${JSON.stringify(chat)};
  const frame = document.getElementById("chat");
  window.addEventListener("message", async (event) => {
    if (event.origin !== chat || event.source !== frame.contentWindow) return;
    const type = event.data && event.data.type;
    if (type !== "edge-chat:ready" && type !== "edge-chat:token-request") return;
    const { token } = await (await fetch("/chat-token", { method: "POST" })).json();
    frame.contentWindow.postMessage({ type: "edge-chat:token", token }, chat);
    // The host's own front end may call the chat's REST API too (CORS).
    const me = await fetch(chat + "/api/me", { headers: { authorization: "Bearer " + token } });
    document.getElementById("me").textContent = JSON.stringify(await me.json());
  });
</script>
</body></html>`;
}

/** The host's backend: make sure the signed-in user exists in the chat, then mint a chat token. */
async function chatToken(chat, user) {
  const headers = { authorization: `Bearer ${SERVER_API_KEY}`, "content-type": "application/json" };
  const path = `${chat}/api/server/users/${encodeURIComponent(user.id)}`;
  const put = await fetch(path, { method: "PUT", headers, body: JSON.stringify(user.profile) });
  if (!put.ok) throw new Error(`PUT user answered ${put.status}: ${await put.text()}`);
  const minted = await fetch(`${path}/tokens`, { method: "POST", headers });
  if (!minted.ok) throw new Error(`POST tokens answered ${minted.status}: ${await minted.text()}`);
  return minted.json();
}

export async function startHostApp() {
  let chat = null;
  const user = {
    id: `host-user-${randomBytes(4).toString("hex")}`,
    profile: { firstName: "Evelyn", lastName: "Boyd", email: "evelyn@host.example" },
  };
  const server = createServer((req, res) => {
    const reply = (status, type, body) => {
      res.writeHead(status, { "content-type": type });
      res.end(body);
    };
    if (!chat) return reply(503, "text/plain", "not configured");
    if (req.method === "GET" && req.url === "/") return reply(200, "text/html; charset=utf-8", page(chat));
    if (req.method === "POST" && req.url === "/chat-token") {
      chatToken(chat, user).then(
        (token) => reply(200, "application/json", JSON.stringify(token)),
        (err) => reply(502, "text/plain", String(err)),
      );
      return undefined;
    }
    return reply(404, "text/plain", "not found");
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address();
  return {
    url: `http://127.0.0.1:${port}`,
    user,
    /** The chat's URL is known only once wrangler dev runs (it is started with this app's origin). */
    useChat(url) {
      chat = url;
    },
    stop: () => new Promise((resolve) => server.close(resolve)),
  };
}
