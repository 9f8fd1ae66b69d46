/**
 * A Durable Object has one alarm; the inbox has several clocks on it (its sockets' token expiry,
 * Web Push delivery, and any other per-user job). Each asks for a time; the alarm is set to the earliest one asked for, never
 * later than it already is, and the alarm handler asks each clock whether it is due.
 *
 * Unlike the room's schedule (room/alarm.ts), which is asked on the hot path and keeps the time in
 * memory, this one reads the alarm from storage on each request: the inbox asks rarely, and after a
 * wake-up the memory would not know an alarm set before it.
 */
export class InboxAlarm {
  constructor(private readonly storage: Pick<DurableObjectStorage, "getAlarm" | "setAlarm">) {}

  /** The alarm fires at `at` or earlier. */
  async request(at: number): Promise<void> {
    if (!Number.isFinite(at)) return;
    const current = await this.storage.getAlarm();
    if (current === null || current > at) await this.storage.setAlarm(at);
  }
}
