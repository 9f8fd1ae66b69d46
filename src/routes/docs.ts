import { Hono } from "hono";
import type { AppEnv } from "../env";
import { openApiDocument } from "../openapi/document";
import { referencePage } from "../openapi/page";
import { protocolDocument } from "../openapi/protocol";

/** The API documented by the service itself (README, "API reference"): public, read-only. */
export const docsRoutes = new Hono<AppEnv>()
  .get("/openapi.json", (c) => c.json(openApiDocument(c.get("limits"))))
  .get("/protocol.json", (c) => c.json(protocolDocument(c.get("limits"))))
  .get("/docs", (c) =>
    c.html(referencePage(openApiDocument(c.get("limits")), protocolDocument(c.get("limits")))),
  );
