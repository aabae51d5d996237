/**
 * The datagram contract: no delivery guarantee, but what arrives is whole and unaltered, the size
 * limit is real, and close() ends the iterators. Loopback rarely drops, so every send is retried a
 * few times before a loss counts as a failure.
 */
import { Buffer } from "node:buffer";
import type { DatagramConnection } from "../../plugin/api.ts";
import { CaseFailure, expect, type Scope, sleep, within } from "./harness.ts";
import type { ConformanceCase } from "./types.ts";

type DatagramCase = ConformanceCase<"datagram">;

const ATTEMPTS = 5;

/** Send `payload` until `receiver` yields a datagram, which must equal it. */
async function deliver(
  sender: DatagramConnection,
  payload: Uint8Array,
  next: () => Promise<Uint8Array | null>,
  what: string,
): Promise<void> {
  for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
    await sender.send([payload]);
    const got = await Promise.race([next(), sleep(300).then(() => undefined)]);
    if (got === undefined) continue;
    expect(got !== null, `${what}: the receiving side's datagrams ended`);
    expect(
      Buffer.compare(got, payload) === 0,
      `${what}: a ${payload.byteLength}-byte datagram arrived altered or truncated (${got.byteLength} bytes)`,
    );
    return;
  }
  throw new CaseFailure(`${what}: nothing arrived after ${ATTEMPTS} sends on loopback`);
}

/** A pull-based view of an AsyncIterable whose pending next() survives a lost race. */
function reader(datagrams: AsyncIterable<Uint8Array>): () => Promise<Uint8Array | null> {
  const iterator = datagrams[Symbol.asyncIterator]();
  let pending: Promise<IteratorResult<Uint8Array>> | null = null;
  return async () => {
    pending ??= iterator.next();
    const r = await pending;
    pending = null;
    return r.done ? null : r.value;
  };
}

const payload = (n: number, fill: number) => new Uint8Array(n).fill(fill);

/** A dialled connection, its accepted twin (which appears on the first datagram), and readers. */
async function datagramPair(scope: Scope<"datagram">, stepMs: number) {
  const { listener, accepted, at } = await scope.listen(stepMs);
  const client = await scope.dial(at, stepMs);
  let server: DatagramConnection | null = null;
  for (let attempt = 0; attempt < ATTEMPTS && !server; attempt++) {
    await client.send([payload(8, 0xab)]);
    server = await accepted.next(300).catch(() => null);
  }
  expect(server, "the listener never handed a connection to onConnection after datagrams were sent");
  const fromClient = reader(server.datagrams);
  // Whatever hello datagrams arrived first are not part of the checks below.
  await Promise.race([fromClient(), sleep(100)]);
  return { client, server, listener, fromClient, fromServer: reader(client.datagrams) };
}

const exchange: DatagramCase = {
  id: "datagram.exchange",
  title: "datagrams go both ways, whole and unaltered",
  timeoutMs: 15_000,
  async run(scope, env) {
    const p = await datagramPair(scope, env.stepMs);
    await deliver(p.client, payload(100, 1), () => drainHello(p.fromClient), "dialler → listener");
    await deliver(p.server, payload(1000, 2), p.fromServer, "listener → dialler");
    return undefined;
  },
};

/** Skip duplicates of the hello datagram a retried accept may have left queued. */
async function drainHello(next: () => Promise<Uint8Array | null>): Promise<Uint8Array | null> {
  for (;;) {
    const got = await next();
    if (!got || !(got.byteLength === 8 && got[0] === 0xab)) return got;
  }
}

const maxSize: DatagramCase = {
  id: "datagram.max-size",
  title: "maxDatagramSize bytes arrive whole; larger is refused, never truncated",
  timeoutMs: 15_000,
  async run(scope, env) {
    const p = await datagramPair(scope, env.stepMs);
    const max = p.client.maxDatagramSize;
    expect(Number.isInteger(max) && max >= 64 && max <= 65_507, `maxDatagramSize ${max} is not in 64..65507`);
    await deliver(p.client, payload(max, 3), () => drainHello(p.fromClient), `a ${max}-byte datagram`);
    const refused = await p.client.send([payload(max + 1, 4)]).then(
      () => false,
      () => true,
    );
    const got = await Promise.race([drainHello(p.fromClient), sleep(300).then(() => undefined)]);
    expect(
      got === undefined || got === null || (got.byteLength === max + 1 && got.every((b) => b === 4)),
      `an oversized datagram arrived as ${got?.byteLength} bytes: datagrams must never be truncated`,
    );
    return refused ? "oversized send() rejected" : "oversized send() resolved (datagram dropped)";
  },
};

const close: DatagramCase = {
  id: "datagram.close",
  title: "close() ends the datagrams iterator; listener.close() resolves",
  timeoutMs: 10_000,
  async run(scope, env) {
    const p = await datagramPair(scope, env.stepMs);
    const ended = p.fromServer();
    p.client.close();
    p.client.close(); // Idempotent, like StreamConnection.destroy().
    await within(
      env.stepMs,
      "the dialler's datagrams after close()",
      ended.catch(() => null),
    );
    const serverEnded = p.fromClient();
    p.server.close();
    await within(
      env.stepMs,
      "the listener side's datagrams after close()",
      serverEnded.catch(() => null),
    );
    await within(env.stepMs, "listener.close()", p.listener.close());
    return undefined;
  },
};

export const DATAGRAM_CASES: readonly DatagramCase[] = [exchange, maxSize, close];
