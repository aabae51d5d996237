import { expect, test } from "bun:test";
import fc from "fast-check";
import { GRANULARITY_MS, INITIAL_RTT_MS, RttEstimator } from "./rtt.ts";

/** A sample known not to have overtaken anything (loss recovery confirms most this way): RFC 9002 exactly. */
function feed(rtt: RttEstimator, sample: number, ackDelay: number): void {
  rtt.observeMin(sample);
  rtt.update(sample, ackDelay);
}

test("before any sample: srtt = 333 ms, rttvar = srtt/2, PTO = srtt + 4·rttvar + max_ack_delay", () => {
  const rtt = new RttEstimator();
  expect(rtt.hasSample).toBe(false);
  expect(rtt.smoothed).toBe(INITIAL_RTT_MS);
  expect(rtt.variance).toBe(INITIAL_RTT_MS / 2);
  expect(rtt.min).toBe(Number.POSITIVE_INFINITY);
  expect(rtt.pto(5)).toBe(333 + 666 + 5);
  expect(rtt.lossDelay()).toBeCloseTo((9 / 8) * 333, 9);
});

test("the first sample sets srtt = sample and rttvar = sample/2, ignoring the ACK delay", () => {
  const rtt = new RttEstimator();
  feed(rtt, 100, 30);
  expect(rtt.hasSample).toBe(true);
  expect(rtt.smoothed).toBe(100);
  expect(rtt.variance).toBe(50);
  expect(rtt.min).toBe(100);
  expect(rtt.latest).toBe(100);
  expect(rtt.pto(25)).toBe(100 + 200 + 25);
});

test("later samples: rttvar = 3/4·rttvar + 1/4·|srtt − adjusted|, srtt = 7/8·srtt + 1/8·adjusted", () => {
  const rtt = new RttEstimator();
  feed(rtt, 100, 0);
  // 120 ≥ min 100 + delay 10: adjusted 110.
  feed(rtt, 120, 10);
  expect(rtt.variance).toBe(0.75 * 50 + 0.25 * 10);
  expect(rtt.smoothed).toBe(0.875 * 100 + 0.125 * 110);
  expect(rtt.latest).toBe(120);
  expect(rtt.min).toBe(100);
  expect(rtt.pto(5)).toBe(101.25 + 4 * 40 + 5);
});

test("the ACK delay is not subtracted when it would take the sample below min_rtt", () => {
  const rtt = new RttEstimator();
  feed(rtt, 100, 0);
  feed(rtt, 105, 10); // 105 < 100 + 10: used as is
  expect(rtt.smoothed).toBe(0.875 * 100 + 0.125 * 105);
  expect(rtt.variance).toBe(0.75 * 50 + 0.25 * 5);
  const exact = new RttEstimator();
  feed(exact, 100, 0);
  feed(exact, 110, 10); // exactly min + delay: subtracted
  expect(exact.smoothed).toBe(100);
  expect(exact.variance).toBe(37.5);
});

test("min_rtt tracks the lowest confirmed raw sample (ACK delay never lowers it)", () => {
  const rtt = new RttEstimator();
  for (const [s, d] of [
    [80, 0],
    [120, 50],
    [60, 40],
    [90, 0],
  ] as const)
    feed(rtt, s, d);
  expect(rtt.min).toBe(60);
  expect(rtt.latest).toBe(90);
});

test("negative and NaN samples are ignored", () => {
  const rtt = new RttEstimator();
  feed(rtt, -1, 0);
  feed(rtt, Number.NaN, 0);
  expect(rtt.hasSample).toBe(false);
  expect(rtt.smoothed).toBe(INITIAL_RTT_MS);
  feed(rtt, 0, 0);
  expect(rtt.hasSample).toBe(true);
  expect(rtt.smoothed).toBe(0);
});

test("PTO never drops the variance term below the timer granularity", () => {
  const rtt = new RttEstimator();
  feed(rtt, 40, 0);
  for (let i = 0; i < 200; i++) feed(rtt, 40, 0);
  expect(rtt.smoothed).toBe(40);
  expect(rtt.variance).toBeLessThan(GRANULARITY_MS / 4);
  expect(rtt.pto(5)).toBe(40 + GRANULARITY_MS + 5);
  expect(rtt.pto(0)).toBe(40 + GRANULARITY_MS);
});

test("loss delay is 9/8 of max(srtt, latest), at least the granularity", () => {
  const rtt = new RttEstimator();
  feed(rtt, 80, 0);
  feed(rtt, 160, 0);
  expect(rtt.lossDelay()).toBe((9 / 8) * 160);
  feed(rtt, 80, 0);
  expect(rtt.lossDelay()).toBe((9 / 8) * rtt.smoothed);
  const zero = new RttEstimator();
  feed(zero, 0, 0);
  expect(zero.lossDelay()).toBe(GRANULARITY_MS);
});

test("reset() makes the next sample initialise srtt/rttvar again but keeps min_rtt", () => {
  const rtt = new RttEstimator();
  feed(rtt, 50, 0);
  feed(rtt, 70, 0);
  rtt.reset();
  feed(rtt, 400, 0);
  expect(rtt.smoothed).toBe(400);
  expect(rtt.variance).toBe(200);
  expect(rtt.min).toBe(50);
});

test("matches a direct transcription of RFC 9002 §5.3 on random sample sequences", () => {
  fc.assert(
    fc.property(
      fc.array(fc.tuple(fc.integer({ min: 0, max: 5000 }), fc.integer({ min: 0, max: 50 })), {
        minLength: 1,
        maxLength: 50,
      }),
      (samples) => {
        const rtt = new RttEstimator();
        let srtt = 0;
        let rttvar = 0;
        let minRtt = Number.POSITIVE_INFINITY;
        samples.forEach(([latest, ackDelay], i) => {
          feed(rtt, latest, ackDelay);
          minRtt = Math.min(minRtt, latest);
          if (i === 0) {
            srtt = latest;
            rttvar = latest / 2;
          } else {
            const adjusted = latest >= minRtt + ackDelay ? latest - ackDelay : latest;
            rttvar = (3 / 4) * rttvar + (1 / 4) * Math.abs(srtt - adjusted);
            srtt = (7 / 8) * srtt + (1 / 8) * adjusted;
          }
          expect(rtt.smoothed).toBeCloseTo(srtt, 9);
          expect(rtt.variance).toBeCloseTo(rttvar, 9);
          expect(rtt.min).toBe(minRtt);
          expect(rtt.pto(5)).toBeCloseTo(srtt + Math.max(4 * rttvar, 1) + 5, 9);
          // srtt stays within the range of the samples seen.
          expect(rtt.smoothed).toBeGreaterThanOrEqual(0);
          expect(rtt.smoothed).toBeLessThanOrEqual(Math.max(...samples.slice(0, i + 1).map(([s]) => s)));
        });
      },
    ),
  );
});

test("a sample below the confirmed min_rtt (a packet or ACK that skipped the delay) leaves srtt, rttvar and latest alone", () => {
  const rtt = new RttEstimator();
  feed(rtt, 50, 0);
  feed(rtt, 60, 0);
  const before = { smoothed: rtt.smoothed, variance: rtt.variance, latest: rtt.latest };
  rtt.update(25, 0);
  rtt.update(0.1, 0);
  expect({ smoothed: rtt.smoothed, variance: rtt.variance, latest: rtt.latest }).toEqual(before);
  expect(rtt.min).toBe(50);
  // Unconfirmed samples at or above the minimum count as usual.
  rtt.update(50, 0);
  expect(rtt.latest).toBe(50);
  expect(rtt.smoothed).toBeLessThan(before.smoothed);
});

test("before any confirmed minimum every sample counts, and none sets the minimum", () => {
  const rtt = new RttEstimator();
  rtt.update(30, 0);
  expect(rtt.hasSample).toBe(true);
  expect(rtt.smoothed).toBe(30);
  expect(rtt.min).toBe(Number.POSITIVE_INFINITY);
});

test("the reordering window widens the loss delay by eighths of the RTT", () => {
  const rtt = new RttEstimator();
  feed(rtt, 80, 0);
  expect(rtt.lossDelay(1)).toBe(90);
  expect(rtt.lossDelay(4)).toBe(120);
  expect(rtt.lossDelay(8)).toBe(160);
});

test("the handshake's round trip stands as min_rtt only until the first confirmed sample, lower or not", () => {
  const rtt = new RttEstimator();
  rtt.observeHandshake(25); // a SYN that skipped the delay
  expect(rtt.min).toBe(25);
  rtt.observeHandshake(10); // only the first counts
  expect(rtt.min).toBe(25);
  rtt.observeMin(50);
  expect(rtt.min).toBe(50);
  rtt.observeMin(60);
  expect(rtt.min).toBe(50);
});
