import { DurableObject } from "cloudflare:workers";
import { limitsFrom } from "../../config";
import { type InboxEvent, PING, PONG } from "../../protocol/frames";
import type { PushSubscriptionInput } from "../../protocol/push";
import { type AwayDecision, type AwayNotice, AwayPush } from "./away-push";
import { type MintedTicket, mintTicket, redeemTicket } from "./tickets";
import { SocketSet, acceptSocket, admitFrame, replyToClose, safeSend, upgradeCaller } from "../sockets";

/**
 * One user's inbox: every open tab and device of theirs holds a socket here and hears about new
 * threads and activity in any of their conversations. It stores no inbox state; an inbox nobody has
 * open keeps no notice (the next inbox page from D1 is the truth) but may turn it into a Web Push.
 * It keeps the user's unused socket tickets and push subscriptions.
 */
export class UserInbox extends DurableObject<Env> {
  private readonly sockets: SocketSet;
  /** Web Push for when none of the user's sockets is open (src/durable/inbox/away-push.ts). */
  private readonly push: AwayPush;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.sockets = new SocketSet(ctx);
    this.push = new AwayPush(ctx, env, () => ctx.id.name ?? "");
    ctx.setWebSocketAutoResponse(new WebSocketRequestResponsePair(PING, PONG));
  }

  /** Called by conversation rooms; serializes each event once for all of the user's sockets. */
  async notify(events: InboxEvent[]): Promise<void> {
    if (this.sockets.size === 0) return this.push.fromEvents(events);
    for (const event of events) this.sockets.broadcast(JSON.stringify(event));
  }

  /** Frames a room already serialized (each one an InboxEvent), sent as they are. */
  async deliver(frames: string[]): Promise<void> {
    if (this.sockets.size === 0) return this.push.fromFrames(frames);
    for (const frame of frames) this.sockets.broadcast(frame);
  }

  /** A single-use socket ticket for this user (see inbox/tickets.ts). */
  async mintTicket(tokenExp: number, ttlSeconds: number, max: number): Promise<MintedTicket> {
    return mintTicket(this.ctx.storage.kv, { tokenExp, ttlSeconds, max });
  }

  async redeemTicket(secret: string): Promise<{ tokenExp: number } | null> {
    return redeemTicket(this.ctx.storage.kv, secret);
  }

  /** A room's notice of activity for a user who may be away: maybe a Web Push, sent by the alarm. */
  async notifyAway(notice: AwayNotice): Promise<AwayDecision> {
    return this.push.consider(notice, this.sockets.size > 0);
  }

  async savePushSubscription(sub: PushSubscriptionInput): Promise<void> {
    this.push.subscribe(sub);
  }

  async deletePushSubscription(endpoint: string): Promise<void> {
    this.push.unsubscribe(endpoint);
  }

  async pushEndpoints(): Promise<string[]> {
    return this.push.endpoints();
  }

  /** The alarm only sends queued pushes (so far the inbox's one use of it). */
  override async alarm(): Promise<void> {
    await this.push.deliver();
  }

  override async fetch(request: Request): Promise<Response> {
    const { userId, tokenExp } = upgradeCaller(request);
    const { server, response } = acceptSocket(this.ctx, this.sockets, { userId, tokenExp, batch: false });
    safeSend(server, JSON.stringify({ type: "ready" } satisfies InboxEvent));
    return response;
  }

  /** The inbox takes no commands; a frame only proves the socket is alive (and its token valid). */
  override async webSocketMessage(ws: WebSocket, message: string | ArrayBuffer): Promise<void> {
    if (!admitFrame(this.sockets, ws, message, limitsFrom(this.env).maxFrameBytes)) return;
    const event: InboxEvent = {
      type: "error",
      code: "bad_request",
      message: "The inbox socket takes no frames",
    };
    safeSend(ws, JSON.stringify(event));
  }

  override async webSocketClose(ws: WebSocket, code: number): Promise<void> {
    this.sockets.remove(ws);
    replyToClose(ws, code);
  }

  override async webSocketError(ws: WebSocket): Promise<void> {
    this.sockets.remove(ws);
  }
}
