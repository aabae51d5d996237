import { describe, expect, test } from "bun:test";
import { MinRttFilter } from "./min-rtt-filter.ts";

/** Two close samples from frames reporting pn and pn + 1, at `at`. */
function pair(f: MinRttFilter, rtt: number, pn: number, at: number): void {
  f.onSample(rtt, pn, pn, at);
  f.onSample(rtt + 1, pn + 1, pn + 1, at + 1);
}

describe("MinRttFilter", () => {
  test("a corroborated sample is confirmed after its window and hold, once older packets are settled", () => {
    const f = new MinRttFilter();
    pair(f, 50, 10, 100);
    expect(f.settle(140, 20, 56)).toBeUndefined(); // window (50 ms) not over
    expect(f.settle(160, 5, 56)).toBeUndefined(); // packet 5 still outstanding
    expect(f.settle(160, 20, 56)).toBe(50);
    expect(f.settle(500, 20, 56)).toBeUndefined(); // confirmed once
  });

  test("a lone sample is not confirmed, and is dropped after its window and hold", () => {
    const f = new MinRttFilter();
    f.onSample(50, 10, 10, 100);
    f.onSample(200, 11, 11, 101); // far above: no corroboration
    expect(f.settle(1000, 20, 56)).toBeUndefined();
    f.onSample(52, 12, 12, 1001); // too late: the lone one is gone, this is a new candidate
    expect(f.settle(1100, 20, 56)).toBeUndefined();
  });

  test("an older packet arriving after it with a much longer round trip discredits it (it overtook)", () => {
    const f = new MinRttFilter();
    pair(f, 25, 10, 100); // pn 10 skipped the 25 ms delay
    f.onArrived(9, 50);
    expect(f.settle(1000, 20, 56)).toBeUndefined();
  });

  test("an older ACK arriving after it discredits it (its ACK overtook on the way back)", () => {
    const f = new MinRttFilter();
    pair(f, 25, 10, 100);
    f.onFrame(8, 50); // a frame reporting less than 11, 50 ms for its largest
    expect(f.settle(1000, 20, 56)).toBeUndefined();
  });

  test("jitter is tolerated: older ones a little slower leave it standing", () => {
    const f = new MinRttFilter();
    pair(f, 50, 10, 100);
    f.onArrived(9, 60);
    f.onFrame(8, 62);
    expect(f.settle(200, 20, 56)).toBe(50);
  });

  test("a reordered sample arriving while a sound one waits does not push the sound one out", () => {
    const f = new MinRttFilter();
    pair(f, 300, 10, 1000);
    pair(f, 150, 40, 1100); // skipped the forward delay ...
    f.onArrived(30, 320); // ... and is found out
    expect(f.settle(1400, 50, 340)).toBe(300);
  });
});
