/**
 * A Durable Object has one alarm; the room has several clocks on it (the D1 outbox's flush and
 * retry, the inbox notices' window). Each asks for a time; the alarm is set to the earliest, and
 * the alarm handler asks each clock whether it is due.
 */
export class AlarmSchedule {
  private at: number | null = null;

  constructor(private readonly storage: Pick<DurableObjectStorage, "setAlarm">) {}

  /** The alarm fires at `at` or earlier. */
  request(at: number): void {
    if (this.at !== null && this.at <= at) return;
    this.at = at;
    void this.storage.setAlarm(at);
  }

  /** Called when the alarm fires: nothing is scheduled any more until the next request. */
  fired(): void {
    this.at = null;
  }
}
