/** Stream cases about a connection's life: half-close, abort, failing and aborted dials, closing. */
import type { StreamConnection } from "../../plugin/api.ts";
import { KiB, readPattern, writePattern } from "./bytes.ts";
import { CaseFailure, expect, LOOPBACK, later, type Scope, sleep, within } from "./harness.ts";
import { oneWay } from "./stream-data-cases.ts";
import type { CaseEnv, ConformanceCase } from "./types.ts";

type StreamCase = ConformanceCase<"stream">;

const halfClose: StreamCase = {
  id: "stream.half-close",
  title: "end() on one side; the other side still writes back",
  timeoutMs: 15_000,
  async run(scope, env) {
    const { client, server } = await scope.pair(env.stepMs);
    const request = 100 * KiB;
    const reading = later(readPattern(server.readable, 1, request));
    await writePattern(client, 1, request);
    await within(env.stepMs, "end() on the dialling side", client.end());
    expect((await reading) === request, "the request did not arrive whole before end");
    // The server answers after seeing the end: the half-closed connection must still carry it.
    const answer = 300 * KiB;
    const answered = later(readPattern(client.readable, 1, answer));
    await writePattern(server, 1, answer);
    await within(env.stepMs, "end() on the accepting side", server.end());
    expect((await answered) === answer, "the answer after half-close did not arrive whole");
    return undefined;
  },
};

const peerAbort: StreamCase = {
  id: "stream.peer-abort",
  title: "destroy() on one side: the peer's readable throws and its writes reject",
  timeoutMs: 15_000,
  async run(scope, env) {
    const { client, server } = await scope.pair(env.stepMs);
    await client.write(new Uint8Array([1, 2, 3]));
    const iterator = server.readable[Symbol.asyncIterator]();
    const first = await within(env.stepMs, "reading the first bytes", iterator.next());
    expect(!first.done, "the readable ended before any bytes arrived");
    client.destroy(new Error("conformance: abort"));
    client.destroy(); // Idempotent by contract.
    await within(env.stepMs, "write() after destroy() on the same side", rejects(client.write(new Uint8Array(1))));
    const ending = await within(env.stepMs, "the peer's readable after destroy()", drainToEnd(iterator));
    expect(ending === "threw", "the peer's readable ended cleanly after destroy(): destroy() must show as an error");
    // Writes toward a dead peer may be accepted by buffers for a moment, but must fail soon.
    const rejected = await within(
      env.stepMs,
      "writes toward a destroyed peer",
      (async () => {
        const chunk = new Uint8Array(64 * KiB);
        for (;;) {
          try {
            await server.write(chunk);
          } catch {
            return true;
          }
          await sleep(10);
        }
      })(),
    );
    expect(rejected, "writes toward a destroyed peer kept succeeding");
    return undefined;
  },
};

async function rejects(p: Promise<unknown>): Promise<void> {
  try {
    await p;
  } catch {
    return;
  }
  throw new CaseFailure("write() resolved on a destroyed connection; it must reject");
}

async function drainToEnd(iterator: AsyncIterator<Uint8Array>): Promise<"ended" | "threw"> {
  try {
    for (;;) if ((await iterator.next()).done) return "ended";
  } catch {
    return "threw";
  }
}

/** A port nothing listens on: bound by this transport, then closed. */
async function closedPort(scope: Scope<"stream">, env: CaseEnv): Promise<number> {
  const { listener, at } = await scope.listen(env.stepMs);
  await within(env.stepMs, "listener.close()", listener.close());
  return at.port;
}

const dialRefused: StreamCase = {
  id: "stream.dial-refused",
  title: "dial() to a closed port rejects with an Error within 10 s",
  timeoutMs: 15_000,
  async run(scope, env) {
    const port = await closedPort(scope, env);
    const started = Date.now();
    const outcome = await within(
      env.stepMs * 2, // 10 s unscaled: a refused dial may wait for a handshake timeout.
      "dial() to a closed port",
      scope.transport.dial({ host: LOOPBACK, port }, scope.ctx, scope.controller.signal).then(
        (conn) => {
          conn.destroy();
          return null;
        },
        (err: unknown) => err,
      ),
    );
    expect(outcome !== null, `dial() to closed port ${port} succeeded`);
    expect(outcome instanceof Error && outcome.message !== "", "dial() rejected with something that is not an Error");
    return `rejected after ${Date.now() - started} ms: ${outcome.message}`;
  },
};

/** Whether a dial connected (the connection is destroyed at once) or rejected. */
function dialOutcome(dialing: Promise<StreamConnection>): Promise<"connected" | "rejected"> {
  return dialing.then(
    (conn) => {
      conn.destroy();
      return "connected";
    },
    () => "rejected",
  );
}

const dialAbort: StreamCase = {
  id: "stream.dial-abort",
  title: "dial() honours its AbortSignal",
  timeoutMs: 10_000,
  async run(scope, env) {
    const { at } = await scope.listen(env.stepMs);
    const aborted = AbortSignal.abort();
    const early = await within(
      1000,
      "dial() with an already aborted signal",
      dialOutcome(scope.transport.dial(at, scope.ctx, aborted)),
    );
    expect(early === "rejected", "dial() with an already aborted signal connected anyway");
    // Aborting a dial in flight: on loopback it may win the race and connect, but must settle.
    const controller = new AbortController();
    const dialing = scope.transport.dial(at, scope.ctx, controller.signal);
    controller.abort();
    await within(
      1000,
      "dial() aborted while in flight",
      dialing.then(
        (conn) => conn.destroy(),
        () => {},
      ),
    );
    return undefined;
  },
};

const listenerClose: StreamCase = {
  id: "stream.listener-close",
  title: "listener.close() resolves, refuses new dials, keeps open connections working",
  timeoutMs: 20_000,
  async run(scope, env) {
    const { client, server, listener } = await scope.pair(env.stepMs);
    await within(env.stepMs, "listener.close()", listener.close());
    const late = await within(
      env.stepMs * 2, // 10 s unscaled: a refused dial may wait for a handshake timeout.
      "dial() after listener.close()",
      dialOutcome(
        scope.transport.dial({ host: LOOPBACK, port: listener.address.port }, scope.ctx, scope.controller.signal),
      ),
    );
    expect(late === "rejected", "a dial() after listener.close() still connected");
    await oneWay(client, server, 64 * KiB);
    return undefined;
  },
};

export const LIFECYCLE_CASES: readonly StreamCase[] = [halfClose, peerAbort, dialRefused, dialAbort, listenerClose];
