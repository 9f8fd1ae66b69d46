/**
 * A Durable Object has one alarm; the room has several clocks on it (the D1 outbox's flush and
 * retry, the inbox notices' window, its sockets' token expiry, the webhook outbox's redelivery, the
 * deletion of files). Each asks for a time; the alarm is set to the earliest, and the alarm handler
 * asks each clock whether it is due.
 */
export class AlarmSchedule {
  private at: number | null = null;

  constructor(private readonly storage: Pick<DurableObjectStorage, "setAlarm" | "getAlarm">) {}

  /**
   * Reads the alarm set before this wake-up, so that no request moves it later: a clock that asked
   * for an early time before an eviction (a socket's expiry) is not pushed back by a later one
   * asked after it. Called once per wake-up, before any event (blockConcurrencyWhile).
   */
  async load(): Promise<void> {
    const stored = await this.storage.getAlarm();
    if (stored !== null && (this.at === null || stored < this.at)) this.at = stored;
  }

  /** The alarm fires at `at` or earlier. */
  request(at: number): void {
    if (!Number.isFinite(at)) return;
    if (this.at !== null && this.at <= at) return;
    this.at = at;
    void this.storage.setAlarm(at);
  }

  /** Called when the alarm fires: nothing is scheduled any more until the next request. */
  fired(): void {
    this.at = null;
  }
}
