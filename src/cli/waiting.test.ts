import { expect, test } from "bun:test";
import tcpStream from "../../plugins/tcp-stream/index.ts";
import udpReliable from "../../plugins/udp-reliable/index.ts";
import type { XferEvent } from "../core/events.ts";
import { type Timers, watchForAnswer } from "./waiting.ts";

/** Timers run by hand: `fire()` runs every pending callback whose time has come. */
function manualTimers() {
  let now = 0;
  const pending = new Map<number, { at: number; fn: () => void }>();
  let next = 1;
  const timers: Timers = {
    setTimeout: (fn, ms) => {
      pending.set(next, { at: now + ms, fn });
      return next++;
    },
    clearTimeout: (h) => void pending.delete(h as number),
  };
  const advance = (ms: number) => {
    now += ms;
    for (const [id, t] of [...pending].sort((a, b) => a[1].at - b[1].at))
      if (t.at <= now) {
        pending.delete(id);
        t.fn();
      }
  };
  return { timers, advance, pending: () => pending.size };
}

const waits = (events: XferEvent[]) =>
  events.flatMap((e) => (e.event === "waiting" ? [{ stage: e.stage, reachableOn: e.reachableOn }] : []));

test("dialing, then connected but silent: two waits, the second after six seconds; nothing once a file starts", () => {
  const clock = manualTimers();
  const events: XferEvent[] = [];
  const w = watchForAnswer(tcpStream, "192.0.2.1:7878", (e) => events.push(e), clock.timers);
  clock.advance(1499);
  expect(waits(events)).toEqual([]);
  clock.advance(1);
  expect(waits(events)).toEqual([{ stage: "dialing", reachableOn: "TCP port 7878" }]);
  w.emit({ event: "connected", transport: "tcp-stream", remote: "192.0.2.1:7878", role: "sender" });
  clock.advance(4500);
  expect(waits(events).at(-1)).toEqual({ stage: "handshake", reachableOn: "TCP port 7878" });
  w.emit({ event: "authenticated", remote: "192.0.2.1:7878" });
  clock.advance(1500);
  expect(waits(events).at(-1)?.stage).toBe("offer");
  w.emit({ event: "file-start", index: 0, path: "f", size: 1, offset: 0 });
  expect(clock.pending()).toBe(0);
  expect(events.filter((e) => e.event !== "waiting").map((e) => e.event)).toEqual([
    "connected",
    "authenticated",
    "file-start",
  ]);
});

test("an answer within a moment means no wait at all; a UDP transport names the UDP port", () => {
  const clock = manualTimers();
  const events: XferEvent[] = [];
  const w = watchForAnswer(udpReliable, "[2001:db8::1]:9000", (e) => events.push(e), clock.timers);
  w.emit({ event: "authenticated", remote: "x" });
  w.emit({ event: "file-start", index: 0, path: "f", size: 1, offset: 0 });
  clock.advance(10_000);
  expect(waits(events)).toEqual([]);
  const slow = watchForAnswer(udpReliable, "[2001:db8::1]:9000", (e) => events.push(e), clock.timers);
  clock.advance(1500);
  expect(waits(events)).toEqual([{ stage: "dialing", reachableOn: "UDP port 9000" }]);
  slow.stop();
  expect(clock.pending()).toBe(0);
});
