import { Hono } from "hono";
import { requireAuth } from "../auth/middleware";
import { mintSocketTicket } from "../auth/tickets";
import type { AppEnv } from "../env";
import type { TicketResponse } from "../protocol/models";

/**
 * POST /api/ws-ticket: a single-use credential for one socket, so the long-lived token stays out of
 * URLs (and the logs that record them). Any caller with a valid token may mint one; the socket it
 * opens expires with that token.
 */
export const ticketRoutes = new Hono<AppEnv>().post("/", requireAuth(), async (c) => {
  const response: TicketResponse = await mintSocketTicket(c.env, c.get("auth"), c.get("limits"));
  return c.json(response, 200);
});
