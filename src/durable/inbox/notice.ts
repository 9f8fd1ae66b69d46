/**
 * What a conversation's room tells one member's inbox (UserInbox.apply): that member's whole view of
 * the conversation as it is when the notice is built, never a delta. So notices are idempotent, a
 * retry sends the latest state rather than the failed one, and an inbox can keep the newest by
 * comparing one number.
 */

/** How the conversation stands in the user's inbox. */
export type InboxState =
  /** listed */
  | "visible"
  /** a direct conversation the user hid: left out until a message after it */
  | "hidden"
  /** the user is not a member (left, removed): left out, and only a newer notice brings it back */
  | "left";

interface NoticeBase {
  conversationId: string;
  /**
   * The room's notice counter (stored in the room, +1 per notice built). An inbox applies a notice
   * only if its version is higher than the one its row has: an older notice that arrives late (a
   * retry, a slow call) never takes a row backwards, and a "left" notice wins over any activity
   * notice built before it.
   */
  version: number;
}

export interface MemberNotice extends NoticeBase {
  state: "visible" | "hidden";
  /** What the user's open sockets hear if the notice changes what they show: `conversation.<event>`. */
  event: "created" | "updated";
  /**
   * The member's Conversation as JSON, exactly API.md's shape (participants summarized): stored
   * as it is, listed as it is and sent to the sockets as it is, never parsed per socket.
   */
  conversation: string;
  updatedAt: string;
  lastSeq: number;
  lastReadSeq: number;
  unreadCount: number;
  kind: "direct" | "group";
  title: string | null;
  participantCount: number;
  /** The member muted it: no Web Push (the room stores the setting as membership owner). */
  muted: boolean;
}

export interface LeftNotice extends NoticeBase {
  state: "left";
}

export type InboxNotice = MemberNotice | LeftNotice;

/** The socket frame of a notice that changes a visible conversation, built once for every socket. */
export function conversationFrame(notice: MemberNotice): string {
  return `{"type":"conversation.${notice.event}","conversation":${notice.conversation}}`;
}

export function removedFrame(conversationId: string): string {
  return JSON.stringify({ type: "conversation.removed", conversationId });
}
