/**
 * Fixed rate, as UFTP and Aspera's "fixed" policy do: send at exactly --rate whatever happens.
 * For links the user owns end to end; it ignores loss and delay, so it is never the default.
 */
import type { AckEvent, CongestionController, ControllerConfig } from "./controller.ts";

export class FixedRateController implements CongestionController {
  readonly name = "fixed";
  private srtt = 100;

  constructor(private readonly config: ControllerConfig) {
    if (!Number.isFinite(config.maxRate)) throw new Error("the fixed-rate controller needs --rate");
  }

  congestionWindow(): number {
    // Enough to keep the pipe full at the rate, with room for a round of losses.
    return Math.max(2 * this.config.maxRate * (this.srtt / 1000), 64 * this.config.mss);
  }

  pacingRate(): number {
    return this.config.maxRate;
  }

  onAck(ev: AckEvent): void {
    if (ev.rttSample !== undefined) this.srtt = 0.875 * this.srtt + 0.125 * ev.rttSample;
  }

  onPacketSent(): void {}
  onLoss(): void {}
  onRetransmissionTimeout(): void {}
  onSpuriousLoss(): void {}
  onDatagramSize(): void {}

  onAppLimited(): void {}

  stats(): Record<string, number | string> {
    return { cc: this.name, pacingBytesPerSec: this.config.maxRate, cwndBytes: Math.round(this.congestionWindow()) };
  }
}
