/**
 * Receiver flow control: the sliding window. The receiver grants the sender an absolute stream
 * offset it may send up to (MAX_DATA); credit returns only as the application reads, so a slow disk
 * stalls the sender instead of filling memory. The window starts small and doubles (up to a cap)
 * whenever the application drains half of it in under two round trips, so it tracks the
 * bandwidth-delay product of whatever path it runs on instead of a constant tuned for one link.
 */

export interface WindowConfig {
  initial: number;
  max: number;
}

export class ReceiveWindow {
  window: number;
  /** The limit last advertised to the peer (absolute offset). */
  limit: number;
  private epochStart = 0;
  private epochConsumed = 0;
  private updateDue = false;

  constructor(private readonly config: WindowConfig) {
    this.window = config.initial;
    this.limit = config.initial;
  }

  /** Data ending at `end` arrived: is it within the credit granted? */
  allows(end: number): boolean {
    return end <= this.limit;
  }

  /** The application has consumed up to `consumed`; maybe grow the window and grant more. */
  onConsumed(consumed: number, now: number, srtt: number): void {
    if (consumed - this.epochConsumed >= this.window / 2) {
      if (now - this.epochStart < 2 * srtt && this.window < this.config.max)
        this.window = Math.min(this.window * 2, this.config.max);
      this.epochStart = now;
      this.epochConsumed = consumed;
    }
    // Advertise once a quarter of the window was consumed since the last grant (quic-go's threshold).
    if (consumed + this.window - this.limit >= this.window / 4) this.updateDue = true;
  }

  /** The new limit to send in MAX_DATA, or null when no update is due. */
  takeUpdate(consumed: number): number | null {
    if (!this.updateDue) return null;
    this.updateDue = false;
    this.limit = Math.max(this.limit, consumed + this.window);
    return this.limit;
  }
}
