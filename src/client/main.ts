// Must run before any schema is built (see the file).
// oxlint-disable-next-line import/no-unassigned-import
import "./zod-setup";
import type { AuthResponse } from "../protocol/models";
import { Api } from "./api";
import { clearSession, loadSession, saveSession, type Session } from "./session";
import { authView } from "./views/auth-view";
import { ChatScreen } from "./views/chat-screen";
import { toast } from "./views/toast";

/** The web client: sign in, then the chat screen; the hash is the route. */
class App {
  private session: Session | null = loadSession();
  private chat: ChatScreen | null = null;
  private readonly api = new Api(
    () => this.session?.token ?? null,
    () => this.signOut("Your session has ended. Please sign in again."),
  );

  constructor(private readonly root: HTMLElement) {}

  start(): void {
    window.addEventListener("hashchange", () => {
      if (this.chat) this.chat.route();
      else this.render();
    });
    this.render();
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
    this.chat = new ChatScreen(
      this.api,
      session.user,
      () => session.token,
      (notice) => this.signOut(notice),
    );
    this.root.replaceChildren(this.chat.el);
  }

  private signIn(auth: AuthResponse): void {
    this.session = { token: auth.token, user: auth.user };
    saveSession(this.session);
    if (location.hash === "#/signup") history.replaceState(null, "", "#/");
    this.render();
  }

  private signOut(notice?: string): void {
    if (!this.session) return;
    this.session = null;
    clearSession();
    history.replaceState(null, "", "#/");
    this.render();
    if (notice) toast(notice);
  }
}

const root = document.getElementById("app");
if (root) new App(root).start();
