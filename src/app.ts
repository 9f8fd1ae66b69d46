import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { HTTPException } from "hono/http-exception";
import { limitsFrom } from "./config";
import { cors } from "./cors";
import type { AppEnv } from "./env";
import { ApiError } from "./errors";
import { describeError, log } from "./log";
import { authRoutes } from "./routes/auth";
import { UPLOAD_PATH } from "./routes/attachments";
import { conversationRoutes } from "./routes/conversations";
import { docsRoutes } from "./routes/docs";
import { healthRoutes } from "./routes/health";
import { inboxRoutes } from "./routes/inbox";
import { serverRoutes } from "./routes/server";
import { ticketRoutes } from "./routes/tickets";
import { pushRoutes } from "./routes/push";
import { searchRoutes } from "./routes/search";
import { userRoutes } from "./routes/users";
import { SECURITY_HEADERS } from "./security-headers";

export const app = new Hono<AppEnv>();

const JSON_TYPE = /^application\/([\w.-]+\+)?json$/i;

/** Cloudflare's ray id ("8f1e2d3c4b5a6978-LHR"); anything else a client sent is not echoed or logged. */
const RAY_ID = /^[\w-]{1,64}$/;

app.use(async (c, next) => {
  const ray = c.req.header("cf-ray");
  c.set("requestId", ray !== undefined && RAY_ID.test(ray) ? ray : crypto.randomUUID());
  c.set("limits", limitsFrom(c.env));
  await next();
  // A 101 carries the object's WebSocket; its headers are the runtime's to set.
  if (c.res.status === 101) return;
  c.header("x-request-id", c.get("requestId"));
  for (const [name, value] of Object.entries(SECURITY_HEADERS)) {
    // A file download sets its own: a sandboxing policy, and private caching of a signed link.
    if (ROUTE_MAY_SET.has(name) && c.res.headers.has(name)) continue;
    c.header(name, value, { append: false });
  }
});

const ROUTE_MAY_SET = new Set(["content-security-policy", "cache-control"]);

app.use("/api/*", cors());

// Bodies are JSON and bounded before anything parses them (API.md: 400 and 413).
app.use("/api/*", async (c, next) => {
  const method = c.req.method;
  // DELETE too: unsubscribing from push names the endpoint in a body.
  if (method !== "POST" && method !== "PATCH" && method !== "PUT" && method !== "DELETE") return next();
  // An upload's body is the file: its route checks type and size itself (routes/attachments.ts).
  if (method === "POST" && UPLOAD_PATH.test(c.req.path)) return next();
  const length = c.req.header("content-length");
  const hasBody = length !== undefined ? length !== "0" : c.req.raw.body !== null;
  if (hasBody) {
    const type = (c.req.header("content-type") ?? "").split(";")[0]?.trim() ?? "";
    if (!JSON_TYPE.test(type)) throw new ApiError("bad_request", "Request bodies must be application/json");
  }
  const max = c.get("limits").maxBodyBytes;
  return bodyLimit({
    maxSize: max,
    onError: () => {
      throw new ApiError("payload_too_large", `Request bodies are limited to ${max} bytes`);
    },
  })(c, next);
});

app.route("/", healthRoutes);
app.route("/api/auth", authRoutes);
app.route("/api", userRoutes);
app.route("/api/conversations", conversationRoutes);
app.route("/api/inbox", inboxRoutes);
app.route("/api/ws-ticket", ticketRoutes);
app.route("/api/server", serverRoutes);
app.route("/api/push", pushRoutes);
app.route("/api/search", searchRoutes);
app.route("/api", docsRoutes);

app.notFound((c) => {
  return new ApiError(
    "not_found",
    `No route for ${c.req.method} ${new URL(c.req.url).pathname}`,
  ).toResponse();
});

// The one place an error becomes a response: API.md's JSON shape, never a stack trace.
app.onError((err, c) => {
  const requestId = c.get("requestId");
  let apiError: ApiError;
  if (err instanceof ApiError) {
    apiError = err;
  } else if (err instanceof HTTPException && err.status < 500) {
    // Hono's own 4xx (e.g. malformed JSON from the validator).
    apiError = new ApiError(
      err.status === 413 ? "payload_too_large" : "bad_request",
      err.message || "Bad request",
    );
  } else {
    log("error", "unhandled_error", {
      requestId,
      method: c.req.method,
      path: new URL(c.req.url).pathname,
      ...describeError(err),
    });
    apiError = new ApiError("internal", `Internal error (request id ${requestId})`);
  }
  const res = apiError.toResponse({ "x-request-id": requestId });
  for (const [name, value] of Object.entries(SECURITY_HEADERS)) res.headers.set(name, value);
  return res;
});
