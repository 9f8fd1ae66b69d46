/** WebSocket close codes of API.md ("Real time"). */
export const CloseCode = {
  normal: 1000,
  goingAway: 1001,
  policyViolation: 1008,
  frameTooLarge: 1009,
  /** The token expired or became invalid: reconnect with a new one. */
  tokenInvalid: 4401,
  /** The user is no longer a participant. */
  notParticipant: 4403,
  /**
   * The user opened more sockets to this conversation than allowed (ROOM_SOCKETS_PER_USER): this,
   * their oldest, was closed. Reconnect only when the user comes back to it (not on a timer).
   */
  tooManySockets: 4429,
} as const;

export type CloseCode = (typeof CloseCode)[keyof typeof CloseCode];

/** What each close code means to a client (served in /api/protocol.json; every code needs one). */
export const CLOSE_CODE_MEANINGS: Readonly<Record<keyof typeof CloseCode, string>> = {
  normal: "Closed normally",
  goingAway: "The server is going away (e.g. a deploy): reconnect with `since`",
  policyViolation: "Another policy violation",
  frameTooLarge: "A frame over the size limit; nothing of it was stored",
  tokenInvalid: "The token expired or became invalid: reconnect with a new one",
  notParticipant: "The user is no longer a participant of the conversation",
  tooManySockets:
    "The user's oldest socket to this conversation, closed because they opened more than allowed: reconnect only when the user returns to it, not on a timer",
};
