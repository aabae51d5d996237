/** Stream cases about the bytes: delivery, order, flow control, many connections at once. */
import type { StreamConnection } from "../../plugin/api.ts";
import { checkChunk, expected, KiB, MiB, readPattern, writePattern } from "./bytes.ts";
import { CaseFailure, expect, later, sleep, within } from "./harness.ts";
import type { ConformanceCase } from "./types.ts";

type StreamCase = ConformanceCase<"stream">;

/** One way, then the reverse side ends too: both readables must finish. */
export async function oneWay(
  from: StreamConnection,
  to: StreamConnection,
  total: number,
  chunkSize?: (i: number) => number,
): Promise<void> {
  // Both readables are read from the start, as a session does.
  const reading = later(readPattern(to.readable, 1, total));
  const backward = later(readPattern(from.readable, 2, 0));
  await writePattern(from, 1, total, chunkSize);
  await from.end();
  const got = await reading;
  expect(got === total, `sent ${total} bytes, the peer's readable ended after ${got}`);
  // end() may reject by contract (api.ts); ending after the peer ended is the half-close case's job.
  await to.end().catch(() => {});
  await backward;
}

const transfer = (id: string, title: string, total: number, reverse: boolean, chunkSize?: (i: number) => number) =>
  ({
    id,
    title,
    timeoutMs: 20_000,
    async run(scope, env) {
      const { client, server } = await scope.pair(env.stepMs);
      await (reverse ? oneWay(server, client, total, chunkSize) : oneWay(client, server, total, chunkSize));
      return undefined;
    },
  }) satisfies StreamCase;

const ordering: StreamCase = {
  id: "stream.ordering",
  title: "10 000 small writes arrive once each, in order",
  timeoutMs: 15_000,
  async run(scope, env) {
    const { client, server } = await scope.pair(env.stepMs);
    const count = 10_000;
    const reading = later(
      (async () => {
        const bytes: number[] = [];
        for await (const chunk of server.readable) bytes.push(...chunk);
        return bytes;
      })(),
    );
    const word = new Uint8Array(4);
    const view = new DataView(word.buffer);
    for (let i = 0; i < count; i++) {
      view.setUint32(0, i);
      await client.write(word);
    }
    await client.end();
    const bytes = await reading;
    expect(bytes.length === count * 4, `expected ${count * 4} bytes, got ${bytes.length}`);
    for (let i = 0; i < count; i++) {
      const n =
        ((bytes[i * 4]! << 24) | (bytes[i * 4 + 1]! << 16) | (bytes[i * 4 + 2]! << 8) | bytes[i * 4 + 3]!) >>> 0;
      expect(n === i, `write #${i} arrived as #${n}: order or content broken`);
    }
    return undefined;
  },
};

/** What a writer may get accepted while its reader does not read; kernel buffers are a few MiB. */
const BACKPRESSURE_LIMIT = 64 * MiB;

const backpressure: StreamCase = {
  id: "stream.backpressure",
  title: "a reader that does not read stalls the writer (bounded buffering)",
  timeoutMs: 20_000,
  async run(scope, env) {
    const { client, server } = await scope.pair(env.stepMs);
    const chunk = 64 * KiB;
    let accepted = 0;
    const rssBefore = process.memoryUsage().rss;
    // Write until a write() stays pending for 500 ms: the transport said "stop".
    const stalled = await (async () => {
      const buffer = new Uint8Array(chunk);
      while (accepted < BACKPRESSURE_LIMIT) {
        buffer.set(expected(1, accepted, chunk));
        const pending = client.write(buffer);
        const done = await Promise.race([pending.then(() => true), sleep(500).then(() => false)]);
        // Wrapped: returning the bare promise from this async function would wait for it.
        if (!done) return { pending };
        accepted += chunk;
      }
      return null;
    })();
    const grew = Math.round((process.memoryUsage().rss - rssBefore) / MiB);
    const grewMiB = `${grew >= 0 ? "+" : ""}${grew}`;
    if (!stalled)
      throw new CaseFailure(
        `the writer got ${accepted / MiB} MiB accepted while the reader read nothing (RSS ${grewMiB} MiB): write() must wait when the transport's buffer is full`,
      );
    // Now read: the stalled write must complete and every byte arrive intact.
    const total = accepted + chunk;
    const reading = later(readPattern(server.readable, 1, total));
    await within(env.stepMs, "the stalled write() after the reader resumed", stalled.pending);
    await client.end();
    const got = await reading;
    expect(got === total, `sent ${total} bytes, received ${got}`);
    return `writer stalled after ${(accepted / MiB).toFixed(1)} MiB in flight (RSS ${grewMiB} MiB)`;
  },
};

const concurrent: StreamCase = {
  id: "stream.concurrent",
  title: "8 connections at once, both directions, no crosstalk",
  timeoutMs: 20_000,
  async run(scope, env) {
    const { listener, accepted, at } = await scope.listen(env.stepMs);
    const n = 8;
    const size = 512 * KiB;
    const clients = await Promise.all(Array.from({ length: n }, () => scope.dial(at, env.stepMs)));
    const servers = await Promise.all(clients.map(() => accepted.next(env.stepMs)));
    // Each client announces its seed in the first 4 bytes, so accepted order does not matter. Nobody
    // ends before the reply arrived: this case is about crosstalk, half-close has its own.
    const client = async (conn: StreamConnection, seed: number) => {
      const tag = new Uint8Array(4);
      new DataView(tag.buffer).setUint32(0, seed);
      const reply = later(readPattern(conn.readable, seed + 100, size));
      await conn.write(tag);
      await writePattern(conn, seed, size);
      const got = await reply;
      expect(got === size, `connection ${seed}: the reply had ${got} of ${size} bytes`);
    };
    const server = async (conn: StreamConnection) => {
      const iterator = conn.readable[Symbol.asyncIterator]();
      let head: Uint8Array = new Uint8Array(0);
      while (head.byteLength < 4) {
        const r = await iterator.next();
        expect(!r.done, "a connection ended before its first 4 bytes");
        head = concat(head, r.value);
      }
      const seed = new DataView(head.buffer, head.byteOffset).getUint32(0);
      let offset = head.byteLength - 4;
      if (offset > 0) checkChunk(head.subarray(4), seed, 0, size);
      while (offset < size) {
        const r = await iterator.next();
        expect(!r.done, `connection ${seed}: ended after ${offset} of ${size} bytes`);
        checkChunk(r.value, seed, offset, size);
        offset += r.value.byteLength;
      }
      await writePattern(conn, seed + 100, size);
      await conn.end();
    };
    await Promise.all([...clients.map((c, i) => client(c, i + 1)), ...servers.map(server)]);
    await within(env.stepMs, "listener.close()", listener.close());
    return undefined;
  },
};

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.byteLength + b.byteLength);
  out.set(a);
  out.set(b, a.byteLength);
  return out;
}

export const DATA_CASES: readonly StreamCase[] = [
  transfer("stream.transfer-1B", "1 byte arrives, then end", 1, false),
  transfer(
    "stream.transfer-64KiB",
    "64 KiB in odd-sized writes (1..9000 bytes)",
    64 * KiB,
    false,
    (i) => 1 + ((i * 7919) % 9000),
  ),
  transfer("stream.transfer-32MiB", "32 MiB from the accepting side, content checked", 32 * MiB, true),
  ordering,
  backpressure,
  concurrent,
];
