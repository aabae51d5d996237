/** The kit itself: it passes a good plugin, and catches each kind of broken one without hanging. */
import { afterEach, describe, expect, test } from "bun:test";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { StreamConnection, TransportDefinition } from "xfer/plugin";
import { caseIds, runConformance } from "xfer/plugin/conformance";
import tcpXor from "../../examples/plugins/tcp-xor/index.ts";
import { ROOT, tempDir } from "../helpers/cli.ts";

/** Connections the broken plugins below opened; their own destroy() may not work, so the test closes them. */
const opened: StreamConnection[] = [];
afterEach(() => {
  for (const c of opened.splice(0)) c.destroy();
});

/** tcp-xor with its connections changed by `change`: a plugin with one specific bug. */
function broken(
  name: string,
  change: (c: StreamConnection) => Partial<StreamConnection>,
  opts: { ignoreSignal?: boolean } = {},
): TransportDefinition<"stream"> {
  const wrap = (c: StreamConnection): StreamConnection => {
    opened.push(c);
    return { remote: c.remote, readable: c.readable, write: c.write, end: c.end, destroy: c.destroy, ...change(c) };
  };
  return {
    ...tcpXor,
    name,
    listen: (at, ctx, onConnection) => tcpXor.listen(at, ctx, (c) => onConnection(wrap(c))),
    dial: async (to, ctx, signal) =>
      wrap(await tcpXor.dial(to, ctx, opts.ignoreSignal ? new AbortController().signal : signal)),
  };
}

const failures = (r: Awaited<ReturnType<typeof runConformance>>) =>
  Object.fromEntries(r.results.filter((x) => x.status === "fail").map((x) => [x.case, x.message]));

describe("the conformance kit", () => {
  test("the tcp-xor example passes every stream case, imported as an author would", async () => {
    const report = await runConformance(tcpXor, { modulePath: join(ROOT, "examples/plugins/tcp-xor/index.ts") });
    expect(failures(report)).toEqual({});
    expect(report.results.map((r) => r.case)).toEqual(["definition.shape", ...caseIds("stream")]);
    expect(report.passed).toBe(true);
  }, 30_000);

  test("a writer that is never made to wait fails the backpressure case", async () => {
    const pending: Promise<void>[] = [];
    const unbounded = broken("unbounded", (c) => ({
      write: async (chunk) => void pending.push(c.write(chunk.slice()).catch(() => {})),
    }));
    const report = await runConformance(unbounded, { only: ["backpressure"] });
    expect(failures(report)["stream.backpressure"]).toMatch(
      /the writer got 64 MiB accepted while the reader read nothing/,
    );
    await Promise.all(pending);
  }, 30_000);

  test("a transport that keeps the caller's chunk after write() resolved delivers wrong bytes", async () => {
    const report = await runConformance(
      broken("no-copy", (c) => {
        let queue = Promise.resolve();
        return {
          // Resolves at once and writes later, from the caller's (by then reused) buffer.
          write: async (chunk) => {
            queue = queue.then(() => c.write(chunk));
          },
          end: () => queue.then(() => c.end()),
        };
      }),
      { only: ["transfer-64KiB"], timeoutScale: 0.2 },
    );
    expect(failures(report)["stream.transfer-64KiB"]).toMatch(/differ from what was sent/);
  });

  test("an end() that never resolves, a destroy() that does nothing, an ignored signal: each case names it", async () => {
    const report = await runConformance(
      broken("sloppy", () => ({ end: () => new Promise(() => {}), destroy: () => {} }), { ignoreSignal: true }),
      { only: ["transfer-1B", "peer-abort", "dial-abort"], timeoutScale: 0.05 },
    );
    expect(failures(report)).toEqual({
      "stream.transfer-1B": "case stream.transfer-1B: no answer within 1000 ms",
      "stream.peer-abort": "write() resolved on a destroyed connection; it must reject",
      "stream.dial-abort": "dial() with an already aborted signal connected anyway",
    });
  });

  test("a dial that hangs fails its cases within their deadlines instead of hanging the kit", async () => {
    const started = Date.now();
    const report = await runConformance(
      { ...tcpXor, name: "hangs", dial: () => new Promise<StreamConnection>(() => {}) },
      {
        only: ["transfer-1B", "dial-refused"],
        timeoutScale: 0.1,
      },
    );
    expect(Object.keys(failures(report))).toEqual(["stream.transfer-1B", "stream.dial-refused"]);
    expect(failures(report)["stream.transfer-1B"]).toMatch(/dial\(127\.0\.0\.1:\d+\): no answer within 500 ms/);
    expect(Date.now() - started).toBeLessThan(4000);
  }, 15_000);

  test("a plugin that leaves a timer running fails the leak case", async () => {
    await using dir = await tempDir();
    const file = join(dir.path, "leaky.ts");
    await writeFile(
      file,
      `import t from ${JSON.stringify(join(ROOT, "examples/plugins/tcp-xor/index.ts"))};
export default { ...t, name: "leaky", listen(at, ctx, on) { setInterval(() => {}, 1000); return t.listen(at, ctx, on); } };\n`,
    );
    const leaky = (await import(file)).default as TransportDefinition<"stream">;
    const report = await runConformance(leaky, { modulePath: file, only: ["leaks"] });
    expect(failures(report)["leaks.process-exits"]).toMatch(/still alive 3000 ms after .*a socket or timer leaked/);
  }, 15_000);

  test("an invalid definition fails the shape case and runs nothing else", async () => {
    const report = await runConformance({ ...tcpXor, name: "Not Valid", dial: undefined } as never);
    expect(report.results).toHaveLength(1);
    expect(report.results[0]).toMatchObject({ case: "definition.shape", status: "fail" });
    expect(report.results[0]!.message).toMatch(/default\.name: .*default\.dial: must be a function/);
  });
});
