import type { AuthResponse } from "../protocol/models";
import { Api } from "./api";
import { HostBridge } from "./host-bridge";
import { forgetPushSubscription, listenForOpenRequests } from "./notifications";
import { type Session, clearSession, loadSession, onOtherTab, saveSession } from "./session";
import { TokenRenewal } from "./token-renewal";
import { authView } from "./views/auth-view";
import { ChatScreen } from "./views/chat-screen";
import { toast } from "./views/toast";

/**
 * The web client: sign in, then the chat screen; the hash is the route. The session is shared by
 * the origin's tabs and outlives the browser (session.ts); its token is renewed before it expires
 * (token-renewal.ts); inside a host application's page, the host can sign the user in (host-bridge.ts).
 */
class App {
  private session: Session | null = loadSession();
  private chat: ChatScreen | null = null;
  private readonly api = new Api(
    () => this.session?.token ?? null,
    () => this.signOut("Your session has ended. Please sign in again."),
  );
  private readonly host = new HostBridge((token) => void this.adoptHostToken(token));
  private readonly renewal = new TokenRenewal({
    current: () => this.session,
    refresh: async () => ({ ...(await this.api.refresh()), source: "password" }),
    askHost: () => this.host.requestToken(),
    adopt: (session) => this.renewed(session),
  });

  constructor(private readonly root: HTMLElement) {}

  start(): void {
    // A click on a notification, passed on by the service worker to this tab.
    // Signed out, the hash waits for the sign-in, which keeps it.
    listenForOpenRequests((id) => {
      location.hash = `#/c/${id}`;
    });
    addEventListener("hashchange", () => {
      if (this.chat) this.chat.route();
      else this.render();
    });
    onOtherTab((session) => this.fromOtherTab(session));
    this.render();
    this.host.start();
    this.renewal.start();
    // A stored token may have expired since: any 401 signs out.
    if (this.session) void this.api.me().catch(() => undefined);
  }

  private render(): void {
    this.chat?.destroy();
    this.chat = null;
    const session = this.session;
    if (!session) {
      this.root.replaceChildren(authView(this.api, (auth) => this.signIn(auth)));
      return;
    }
    this.chat = new ChatScreen(this.api, session.user, (notice) => this.signOut(notice));
    this.root.replaceChildren(this.chat.el);
  }

  private signIn(auth: AuthResponse, source: Session["source"] = "password"): void {
    this.session = { token: auth.token, user: auth.user, source };
    saveSession(this.session);
    if (location.hash === "#/signup") history.replaceState(null, "", "#/");
    this.render();
    this.renewal.check();
  }

  /** A new token for the signed-in user: nothing re-renders, the sockets move over. */
  private renewed(session: Session): void {
    if (!this.session || session.user.id !== this.session.user.id) return;
    this.session = session;
    saveSession(session);
    this.chat?.renewed();
    this.renewal.check();
  }

  /** Another tab signed in, renewed or signed out; this one follows. */
  private fromOtherTab(session: Session | null): void {
    if (!session) {
      if (this.session) this.signOut("You signed out in another tab.", false);
      return;
    }
    if (this.session?.user.id === session.user.id) {
      this.session = session;
      this.chat?.renewed();
      this.renewal.check();
      return;
    }
    this.session = session;
    this.render();
    this.renewal.check();
  }

  /** The host page handed over a token (its provider's, or one its backend minted). */
  private async adoptHostToken(token: string): Promise<void> {
    try {
      const user = await this.api.me(token);
      if (this.session?.user.id === user.id) this.renewed({ token, user, source: "host" });
      else this.signIn({ token, user }, "host");
    } catch {
      toast("The application could not sign you in to the chat.", "error");
    }
  }

  private signOut(notice?: string, everywhere = true): void {
    if (!this.session) return;
    // The next person signed in on this browser must not get this account's notifications.
    void forgetPushSubscription(this.session.token);
    this.session = null;
    // Clearing the shared session signs the other tabs out too.
    if (everywhere) clearSession();
    history.replaceState(null, "", "#/");
    this.render();
    this.renewal.check();
    if (notice) toast(notice);
    // The session ran out (not a click on "Sign out"): the host page may have a fresh token.
    if (notice && this.host.embedded) this.host.requestToken();
  }
}

const root = document.getElementById("app");
if (root) new App(root).start();
