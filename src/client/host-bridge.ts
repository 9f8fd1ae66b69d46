/**
 * When the chat runs inside the host application's page (an iframe: only ALLOWED_ORIGINS may frame
 * it, the page's frame-ancestors enforces that), the host can sign its user in by handing over a
 * token, and hands over the next one when asked. Messages (README, "Embed it in your app"):
 *
 *   chat → host: { type: "edge-chat:ready" }            the chat loaded and listens
 *   chat → host: { type: "edge-chat:token-request" }    the token expires soon: send a new one
 *   host → chat: { type: "edge-chat:token", token }     a token of this service or of the provider
 *
 * A token is taken only from the parent window itself. The chat's own messages carry nothing
 * secret, so they are posted to whichever origin the parent has.
 */

interface TokenMessage {
  type: "edge-chat:token";
  token: string;
}

function isTokenMessage(data: unknown): data is TokenMessage {
  const d = data as Partial<TokenMessage> | null;
  return d?.type === "edge-chat:token" && typeof d.token === "string" && d.token.length > 0;
}

export class HostBridge {
  private readonly parent: Window | null = window.parent === window ? null : window.parent;
  private listener: ((event: MessageEvent<unknown>) => void) | null = null;

  constructor(private readonly onToken: (token: string) => void) {}

  get embedded(): boolean {
    return this.parent !== null;
  }

  start(): void {
    if (!this.parent) return;
    this.listener = (event) => {
      if (event.source !== this.parent || !isTokenMessage(event.data)) return;
      this.onToken(event.data.token);
    };
    addEventListener("message", this.listener);
    this.post({ type: "edge-chat:ready" });
  }

  /** Asks the host page for a new token; false when there is no host page. */
  requestToken(): boolean {
    return this.post({ type: "edge-chat:token-request" });
  }

  private post(message: { type: string }): boolean {
    if (!this.parent) return false;
    this.parent.postMessage(message, "*");
    return true;
  }
}
