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
} as const;

export type CloseCode = (typeof CloseCode)[keyof typeof CloseCode];
