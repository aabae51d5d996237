import { expect, test } from "bun:test";
import { PassThrough } from "node:stream";
import type { XferEvent } from "../core/events.ts";
import { createReporter, flushJsonEvents } from "./reporter.ts";

function capture() {
  const out = new PassThrough();
  const writes: string[] = [];
  out.on("data", (c: Buffer) => writes.push(c.toString()));
  return { out, writes };
}
const event = (i: number) => ({ event: "file-start", index: i, path: `f${i}`, size: 1, offset: 0 }) as XferEvent;

test("--json lines of one turn go out in one write, in order, each a line", async () => {
  const { out, writes } = capture();
  const report = createReporter({ json: true, quiet: false, verbose: false, jsonStream: out });
  for (let i = 0; i < 100; i++) report(event(i));
  await new Promise((r) => setImmediate(r));
  await new Promise((r) => setImmediate(r));
  expect(writes.length).toBe(1);
  const lines = writes.join("").split("\n");
  expect(lines.pop()).toBe("");
  expect(lines.map((l) => JSON.parse(l).index)).toEqual([...Array(100).keys()]);
  report(event(100));
  await new Promise((r) => setImmediate(r));
  await new Promise((r) => setImmediate(r));
  expect(writes.length).toBe(2);
});

test("lines still waiting are written by flushJsonEvents, at once", async () => {
  const { out, writes } = capture();
  const report = createReporter({ json: true, quiet: false, verbose: false, jsonStream: out });
  report(event(1));
  flushJsonEvents();
  await new Promise((r) => process.nextTick(r));
  expect(writes.join("")).toBe(`${JSON.stringify(event(1))}\n`);
  await new Promise((r) => setImmediate(r));
  expect(writes.length).toBe(1);
});
