import { describe, expect, test } from "bun:test";
import type { Received } from "./control.ts";
import { encodeUnit, FecEncoder, PLACEMENT_BYTES } from "./fec.ts";
import { DatagramReceiverState, IDLE_MS, LINGER_MS, MAX_REPORT_REPEATS } from "./receiver-state.ts";
import { Coverage } from "./tally.ts";

const S = 7;
const control = (msg: object, session = S): Received => ({ kind: "control", session, json: JSON.stringify(msg) });
const OFFER = {
  type: "dg-offer",
  version: 2,
  software: "test",
  entries: [{ path: "f", kind: "file", size: 8, mode: 0o644, mtimeMs: 0 }],
  chunk: 4,
};
const END = { type: "dg-end", datagrams: 2, files: [{ index: 0, size: 8, hash: "00".repeat(32) }] };
const data = (seq: number, offset: number, bytes: number[], intact = true): Received => ({
  kind: "data",
  session: S,
  seq,
  file: 0,
  offset,
  payload: Uint8Array.from(bytes),
  intact,
});

function opened(now = 0) {
  const s = new DatagramReceiverState(now);
  expect(s.onDatagram(control(OFFER), now)).toMatchObject([{ do: "accept", offer: { entries: OFFER.entries } }]);
  s.coverage.set(0, new Coverage());
  s.accepted();
  return s;
}

describe("DatagramReceiverState", () => {
  test("nothing opens a session but an offer; then it is fixed to that offer's session id", () => {
    const s = new DatagramReceiverState(0);
    expect(s.onDatagram(data(0, 0, [1]), 0)).toEqual([]);
    expect(s.onDatagram(control({ type: "dg-end", datagrams: 0, files: [] }), 0)).toEqual([]);
    expect(s.onDatagram(control({ not: "a message" }), 0)).toEqual([]);
    expect(s.onDatagram(control(OFFER), 0)).toHaveLength(1);
    expect(s.session).toBe(S);
    s.accepted();
    expect(s.onDatagram({ ...data(0, 0, [1]), session: S + 1 }, 0)).toEqual([]); // another session's
  });

  test("new intact data is placed once; duplicates and corrupt ones are counted, not written", () => {
    const s = opened();
    expect(s.onDatagram(data(0, 0, [1, 2, 3, 4]), 1)).toMatchObject([{ do: "place", offset: 0 }]);
    expect(s.onDatagram(data(0, 0, [1, 2, 3, 4]), 2)).toEqual([]);
    expect(s.onDatagram(data(1, 4, [9, 9, 9, 9], false), 3)).toEqual([]);
    expect(s.tally.report(2)).toMatchObject({ received: 1, duplicated: 1, corrupt: 1, lost: 1 });
  });

  test("a repeated offer gets the accept again; the first END asks for the report, later ones get it again, at most MAX_REPORT_REPEATS times", () => {
    const s = opened();
    expect(s.onDatagram(control(OFFER), 1)).toEqual([{ do: "resend" }]);
    expect(s.onDatagram(control(END), 2)).toMatchObject([{ do: "finish", end: { datagrams: 2 } }]);
    s.reportReady(3);
    let resent = 0;
    for (let i = 0; i < 100; i++) resent += s.onDatagram(control(END), 4).length;
    expect(resent).toBe(MAX_REPORT_REPEATS - 1); // the first report counts as one
    expect(s.onDatagram(data(5, 0, [1]), 5)).toEqual([]); // nothing is placed after the report
  });

  test("idle means no progress: only placed bytes move the deadline; after the report it is the linger", () => {
    const s = opened(0);
    expect(s.waitMs(0)).toBe(IDLE_MS);
    s.onDatagram(data(0, 0, [1, 2, 3, 4]), 10_000); // arrived, but not yet placed
    expect(s.waitMs(10_000)).toBe(IDLE_MS - 10_000);
    s.placed(0, 0, 4, 10_000);
    expect(s.waitMs(10_000)).toBe(IDLE_MS);
    expect(s.coverage.get(0)?.missing(8)).toEqual([[4, 8]]);
    s.onDatagram(control(END), 11_000);
    s.reportReady(11_000);
    expect(s.reported).toBe(true);
    expect(s.waitMs(11_000)).toBe(LINGER_MS);
    s.onDatagram(control(END), 12_000); // repeats do not extend it
    expect(s.waitMs(12_000)).toBe(LINGER_MS - 1000);
  });

  test("with FEC, a lost datagram is rebuilt from parity and placed, once", () => {
    const fec = { k: 2, m: 1 };
    const s = new DatagramReceiverState(0);
    s.onDatagram(control({ ...OFFER, fec }), 0);
    s.coverage.set(0, new Coverage());
    s.accepted();
    const unitSize = PLACEMENT_BYTES + OFFER.chunk;
    const enc = new FecEncoder(fec, unitSize);
    const units = [
      encodeUnit(0, 0, Uint8Array.of(1, 2, 3, 4), unitSize),
      encodeUnit(0, 4, Uint8Array.of(5, 6, 7, 8), unitSize),
    ];
    const parity = units.flatMap((u) => enc.add(u));
    expect(parity.length).toBeGreaterThan(0);
    // Datagram 1 is lost: 0 and the parity arrive.
    expect(s.onDatagram(data(0, 0, [1, 2, 3, 4]), 1)).toHaveLength(1);
    const actions = parity.flatMap(([block, cls, unit]) =>
      s.onDatagram({ kind: "parity", session: S, block, cls, unit, intact: true }, 2),
    );
    expect(actions).toMatchObject([{ do: "place", offset: 4, payload: Uint8Array.of(5, 6, 7, 8) }]);
    expect(s.tally.report(2)).toMatchObject({ received: 1, recovered: 1, lost: 1 });
  });
});
