/**
 * Randomised but seeded transfer scenarios for the udp-reliable simulator: the same seed always
 * describes the same links, flows and hostile datagrams, so a failing seed replays exactly.
 */
import type { Peer } from "../plugins/udp-reliable/listener-core.ts";
import type { LinkSpec } from "./link.ts";
import type { SimSpec } from "./network.ts";
import { seededRandom } from "./rng.ts";

/** A random spec: links from clean to hostile, slow readers, blackouts, and junk at the listener. */
export function randomScenario(seed: number): SimSpec {
  const r = seededRandom(seed * 7919 + 13);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)] as T;
  const rate = pick([1e5, 1e6, 12.5e6, 125e6]);
  // Up to 300 ms round trips (150 ms each way): where reordering's skipped delay is longest.
  const delayMs = pick([0.1, 5, 25, 80, 150]);
  const lossy = r() < 0.7;
  const link = (): LinkSpec => ({
    rateBytesPerSec: rate,
    delayMs,
    jitterMs: r() < 0.3 ? r() * delayMs : 0,
    loss: lossy ? pick([0.001, 0.01, 0.05, 0.1, 0.2]) : 0,
    duplicate: r() < 0.3 ? r() * 0.1 : 0,
    reorder: r() < 0.3 ? r() * 0.05 : 0,
    late: r() < 0.3 ? r() * 0.1 : 0,
    queuePackets: pick([20, 100, 1000]),
  });
  const forward = link();
  const backward = link();
  // A blackout shorter than the idle timeout must be survived; a longer one must end cleanly.
  if (r() < 0.15) {
    const from = 50 + r() * 500;
    forward.blackouts = [{ from, to: from + pick([500, 3000, 12_000]) }];
  }
  const flowCount = r() < 0.2 ? 2 + Math.floor(r() * 2) : 1;
  const maxBytes = rate <= 1e5 ? 40_000 : 600_000;
  const flows = Array.from({ length: flowCount }, () => ({
    bytes: r() < 0.05 ? 0 : Math.floor(r() * maxBytes),
    startMs: r() < 0.3 ? r() * 200 : 0,
    readRateBytesPerSec: r() < 0.2 ? pick([50_000, 500_000]) : undefined,
  }));
  const inject: NonNullable<SimSpec["inject"]> = [];
  if (r() < 0.3) {
    const from: Peer = r() < 0.5 ? { address: "10.0.0.1", port: 40000 } : { address: "192.0.2.9", port: 9 };
    for (let k = 0; k < 50; k++) {
      const bytes = new Uint8Array(1 + Math.floor(r() * 1400));
      for (let b = 0; b < bytes.length; b++) bytes[b] = Math.floor(r() * 256);
      // Half of the junk wears our magic byte so it gets past the first check.
      if (r() < 0.5) bytes[0] = 0x55;
      inject.push({ at: r() * 2000, bytes, from });
    }
  }
  const tamper = r() < 0.2 ? { truncate: r() * 0.05, replay: r() * 0.05 } : undefined;
  return { seed, forward, backward, flows, inject, tamper, limitMs: 600_000 };
}
