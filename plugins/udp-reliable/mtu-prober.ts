/**
 * Path MTU probing (DPLPMTUD in its simplest form, RFC 8899): start at MIN_DATAGRAM, send one
 * PING padded to the largest size both sides allow, and switch to it once that probe is
 * acknowledged. A lost probe is retried a few times, then the search stops at the size in use.
 * Probes are not in flight: their loss says nothing about congestion.
 */
import { MIN_DATAGRAM } from "./wire/packet.ts";

export const MTU_PROBE_ATTEMPTS = 3;

export class MtuProber {
  /** Datagram size in use: the largest one the path has carried. */
  size = MIN_DATAGRAM;
  private probe: { size: number; attempts: number; pn: number } | null = null;

  /** Both sides allow datagrams of `target` bytes: probe for it if it is larger than today's. */
  start(target: number): void {
    if (target > this.size) this.probe = { size: target, attempts: 0, pn: -1 };
  }

  /** The size of the probe to send now (null: none due). */
  get due(): number | null {
    return this.probe !== null && this.probe.pn === -1 ? this.probe.size : null;
  }

  onProbeSent(pn: number): void {
    if (this.probe) this.probe.pn = pn;
  }

  /** A packet was acknowledged; true when it was the probe (the datagram size changed). */
  onAcked(pn: number): boolean {
    if (!this.probe || pn !== this.probe.pn) return false;
    this.size = this.probe.size;
    this.probe = null;
    return true;
  }

  onLost(pn: number): void {
    if (!this.probe || pn !== this.probe.pn) return;
    this.probe.pn = -1;
    if (++this.probe.attempts >= MTU_PROBE_ATTEMPTS) this.probe = null;
  }
}
