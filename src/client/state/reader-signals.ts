import type { ClientFrame } from "../../protocol/frames";

/** Typing is re-announced this often while it goes on; the server throttles to 2 s anyway. */
const TYPING_RESEND_MS = 2500;
/**
 * My read position is told at most this often: a visible conversation reads every message as it
 * arrives, and the room keeps only the latest position per window anyway.
 */
const READ_INTERVAL_MS = 500;

/**
 * What one open conversation tells its room about me besides messages: how far I have read (the
 * latest position, at most once per READ_INTERVAL_MS) and whether I am typing (re-announced while
 * it goes on). `send` puts a frame on the room socket; false when it is not open.
 */
export class ReaderSignals {
  /** The position the room has (told, or loaded with the conversation). */
  private told = 0;
  /** The position to tell next, when one was last told, and the pending timer. */
  private wanted = 0;
  private toldAt = 0;
  private timer: number | undefined;
  private typingAt = 0;

  constructor(private readonly send: (frame: ClientFrame) => boolean) {}

  /** What the room has: a position at or below it is not news. */
  get toldSeq(): number {
    return this.told;
  }

  /** The position the conversation came with (REST): the room has it already. */
  loaded(seq: number): void {
    this.told = seq;
  }

  /** I read up to `seq`: told now, or at the end of the interval (the latest then). */
  read(seq: number): void {
    this.wanted = Math.max(this.wanted, seq);
    if (this.timer !== undefined) return;
    const wait = this.toldAt + READ_INTERVAL_MS - Date.now();
    if (wait <= 0) this.flush();
    else
      this.timer = setTimeout(() => {
        this.timer = undefined;
        this.flush();
      }, wait);
  }

  typing(active: boolean): void {
    const now = Date.now();
    if (active) {
      if (now - this.typingAt < TYPING_RESEND_MS) return;
      if (this.send({ type: "typing", active: true })) this.typingAt = now;
    } else if (this.typingAt > 0) {
      this.typingAt = 0;
      this.send({ type: "typing", active: false });
    }
  }

  /** The view closes: typing stops, and a position still waiting is told now. */
  close(): void {
    this.typing(false);
    if (this.timer !== undefined) this.flush();
  }

  /** Tells the room the latest position read; with the socket down, the next `ready` marks it again. */
  private flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    const seq = this.wanted;
    if (seq <= this.told || !this.send({ type: "read", seq })) return;
    this.told = seq;
    this.toldAt = Date.now();
  }
}
