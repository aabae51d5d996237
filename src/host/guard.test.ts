import { describe, expect, test } from "bun:test";
import type { Listener, StreamConnection, TransportContext, TransportDefinition } from "../plugin/api.ts";
import { guardTransport } from "./guard.ts";

const warnings: string[] = [];
const ctx: TransportContext = {
  options: { extra: {} },
  log: { debug() {}, info() {}, warn: (m) => warnings.push(m) },
  stats() {},
};
const at = { host: "127.0.0.1", port: 0 };

function fake(overrides: Partial<TransportDefinition<"stream">>): TransportDefinition<"stream"> {
  return {
    name: "fake",
    description: "fake",
    apiVersion: 1,
    kind: "stream",
    listen: async () => ({ address: at, close: async () => {} }),
    dial: async () => ({}) as StreamConnection,
    ...overrides,
  };
}

describe("the guard between plugin code and the core", () => {
  test("a connection missing fields is refused with the plugin and the field named", async () => {
    const t = guardTransport(fake({ dial: async () => ({ remote: "x", write: () => {} }) as never }), "/p/fake.ts");
    await expect(t.dial(at, ctx, new AbortController().signal)).rejects.toThrow(
      /transport 'fake' \(\/p\/fake\.ts\): the connection returned by dial\(\) is invalid: readable: must be an AsyncIterable.*end: must be a function/,
    );
  });

  test("a dial that ignores its signal still rejects when aborted, and a late connection is destroyed", async () => {
    let connect!: (c: StreamConnection) => void;
    const t = guardTransport(fake({ dial: () => new Promise((r) => (connect = r)) }), "/p/fake.ts");
    const controller = new AbortController();
    const dialing = t.dial(at, ctx, controller.signal);
    controller.abort();
    await expect(dialing).rejects.toThrow(/dial to 127\.0\.0\.1:0 aborted/);
    let destroyed = false;
    connect({ destroy: () => (destroyed = true) } as unknown as StreamConnection);
    await Bun.sleep(1);
    expect(destroyed).toBe(true);
  });

  test("errors thrown by listen() name the plugin and keep their errno code", async () => {
    const failing = Object.assign(new Error("listen EADDRINUSE"), { code: "EADDRINUSE" });
    const t = guardTransport(
      fake({
        listen: () => {
          throw failing; // Synchronously, as a careless plugin might.
        },
      }),
      "/p/fake.ts",
    );
    await expect(t.listen(at, ctx, () => {})).rejects.toMatchObject({
      message: "transport 'fake' (/p/fake.ts): listen EADDRINUSE",
      code: "EADDRINUSE",
    });
  });

  test("a bad Listener is refused; a bad accepted connection is logged, not handed on", async () => {
    const bad = guardTransport(fake({ listen: async () => ({ address: { host: "h" } }) as Listener }), "/p/f.ts");
    await expect(bad.listen(at, ctx, () => {})).rejects.toThrow(
      /the Listener returned by listen\(\) is invalid: address\.port/,
    );
    const accepted: unknown[] = [];
    const t = guardTransport(
      fake({
        listen: async (_at, _ctx, onConnection) => {
          onConnection({ remote: 1 } as unknown as StreamConnection);
          return { address: at, close: async () => {} };
        },
      }),
      "/p/f.ts",
    );
    await t.listen(at, ctx, (c) => accepted.push(c));
    expect(accepted).toEqual([]);
    expect(warnings.at(-1)).toMatch(/the connection passed to onConnection is invalid: remote/);
  });
});
