import { expect, test } from "bun:test";
import { MTU_PROBE_ATTEMPTS, MtuProber } from "./mtu-prober.ts";
import { MIN_DATAGRAM } from "./wire/packet.ts";

test("starts at the minimum and probes only for a larger size", () => {
  const m = new MtuProber();
  expect(m.size).toBe(MIN_DATAGRAM);
  m.start(MIN_DATAGRAM);
  expect(m.due).toBeNull();
  m.start(1472);
  expect(m.due).toBe(1472);
});

test("an acknowledged probe switches the size; other packets' ACKs do not", () => {
  const m = new MtuProber();
  m.start(1472);
  m.onProbeSent(7);
  expect(m.due).toBeNull();
  expect(m.onAcked(6)).toBe(false);
  expect(m.size).toBe(MIN_DATAGRAM);
  expect(m.onAcked(7)).toBe(true);
  expect(m.size).toBe(1472);
  expect(m.due).toBeNull();
});

test(`a lost probe is sent again, up to ${MTU_PROBE_ATTEMPTS} times, then the search stops`, () => {
  const m = new MtuProber();
  m.start(9000);
  for (let i = 0; i < MTU_PROBE_ATTEMPTS; i++) {
    expect(m.due).toBe(9000);
    m.onProbeSent(i);
    m.onLost(100); // not the probe: nothing changes
    expect(m.due).toBeNull();
    m.onLost(i);
  }
  expect(m.due).toBeNull();
  expect(m.size).toBe(MIN_DATAGRAM);
  expect(m.onAcked(MTU_PROBE_ATTEMPTS - 1)).toBe(false);
});
