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
  await flushJsonEvents();
  expect(writes.join("")).toBe(`${JSON.stringify(event(1))}\n`);
  await new Promise((r) => setImmediate(r));
  expect(writes.length).toBe(1);
});

test("every line reaches a pipe when the process exits right after flushJsonEvents", async () => {
  // What src/cli.ts does at the end; 5,000 lines are far more than a pipe holds at once.
  const script = `
    import { createReporter, flushJsonEvents } from ${JSON.stringify(`${import.meta.dir}/reporter.ts`)};
    const report = createReporter({ json: true, quiet: false, verbose: false });
    for (let i = 0; i < 5000; i++) report({ event: "file-done", index: i, path: "f" + i, bytes: 1, hash: "a".repeat(64), resumedFrom: 0, skipped: false });
    await flushJsonEvents();
    process.exit(0);
  `;
  const child = Bun.spawn([process.execPath, "-e", script], { stdout: "pipe", stderr: "inherit" });
  // Read slowly at first, so the writer finds the pipe full.
  await Bun.sleep(200);
  const text = await new Response(child.stdout).text();
  expect(await child.exited).toBe(0);
  const lines = text.split("\n").filter(Boolean);
  expect(lines.length).toBe(5000);
  expect(JSON.parse(lines.at(-1)!).index).toBe(4999);
});
