/** The shared TCP listener over loopback, with each runtime adapter: routing, bounds, lifetimes. */
import { afterEach, describe, expect, test } from "bun:test";
import { connect, createServer, type Socket } from "node:net";
import fc from "fast-check";
import type { Endpoint, Listener, StreamConnection } from "../api.ts";
import { MAX_PREAMBLE_BYTES, parsePreamble } from "./preamble.ts";
import { MAX_ROUTING } from "./routing.ts";
import { dialTcp, listenTcp, type TcpImpl, tcpRejections } from "./server.ts";

const HOST = "127.0.0.1";
const signal = new AbortController().signal;
const opened: { close(): unknown }[] = [];
afterEach(async () => {
  for (const o of opened.splice(0).reverse()) await o.close();
});

/** A claim whose accepted connections queue up for the test. */
async function claim(
  at: Endpoint,
  tag: string,
  impl: TcpImpl,
  extra: { untagged?: boolean; preambleTimeoutMs?: number } = {},
) {
  const accepted: StreamConnection[] = [];
  let wake: (() => void) | null = null;
  const listener: Listener = await listenTcp(
    at,
    tag,
    (c) => {
      accepted.push(c);
      wake?.();
    },
    { impl, ...extra },
  );
  opened.push(listener);
  const next = async () => {
    while (!accepted.length) await new Promise<void>((r) => (wake = r));
    return accepted.shift()!;
  };
  return { listener, accepted, next };
}

async function readAll(conn: StreamConnection): Promise<Buffer> {
  const parts: Uint8Array[] = [];
  for await (const c of conn.readable) parts.push(c);
  return Buffer.concat(parts);
}

/** A raw client that sends `bytes` and reports whether (and when) the listener closed on it. */
function raw(port: number, bytes: Uint8Array): { socket: Socket; closed: Promise<number> } {
  const t0 = Date.now();
  const socket = connect(port, HOST, () => bytes.byteLength && socket.write(bytes));
  socket.on("error", () => {});
  socket.on("data", () => {});
  opened.push({ close: () => socket.destroy() });
  return { socket, closed: new Promise((r) => socket.once("close", () => r(Date.now() - t0))) };
}

/** Anything, the magic then anything, or a well-formed preamble for one of a few tags, then anything. */
const peerFirstBytes = fc.oneof(
  fc.uint8Array({ maxLength: 64 }),
  fc.uint8Array({ maxLength: 50 }).map((b) => Uint8Array.of(0x58, 0x54, 1, ...b)),
  fc
    .tuple(fc.constantFrom("alpha", "beta", "gamma"), fc.uint8Array({ maxLength: 20 }))
    .map(([tag, b]) => Uint8Array.of(0x58, 0x54, 1, tag.length, ...Buffer.from(tag), ...b)),
);

for (const impl of ["bun", "node"] as const) {
  describe(`shared TCP listener (${impl})`, () => {
    test("two tags on one port each get their own connections, bytes after the preamble intact", async () => {
      const a = await claim({ host: HOST, port: 0 }, "alpha", impl);
      const at = a.listener.address;
      const b = await claim(at, "beta", impl);
      expect(b.listener.address.port).toBe(at.port);
      for (const [tag, side] of [
        ["alpha", a],
        ["beta", b],
      ] as const) {
        const client = await dialTcp(at, tag, { timeoutMs: 2000, signal, impl });
        opened.push({ close: () => client.destroy() });
        const payload = crypto.getRandomValues(new Uint8Array(200_000));
        await client.write(payload);
        await client.end();
        const server = await side.next();
        expect(Buffer.compare(await readAll(server), payload)).toBe(0);
        await server.write(Buffer.from(`hi ${tag}`));
        await server.end();
        expect((await readAll(client)).toString()).toBe(`hi ${tag}`);
      }
      expect(a.accepted.length + b.accepted.length).toBe(0);
    });

    test("a tag claimed twice on a port, or a second untagged claim, is refused", async () => {
      const a = await claim({ host: HOST, port: 0 }, "alpha", impl, { untagged: true });
      const at = a.listener.address;
      await expect(listenTcp(at, "alpha", () => {}, { impl })).rejects.toThrow(/'alpha' is already listening/);
      await expect(listenTcp(at, "beta", () => {}, { impl, untagged: true })).rejects.toThrow(/untagged/);
      await expect(listenTcp(at, "Not A Tag", () => {})).rejects.toThrow(/TCP tag/);
    });

    test("unknown tag, garbage and silence are closed, counted, and the listener serves on", async () => {
      const a = await claim({ host: HOST, port: 0 }, "alpha", impl, { preambleTimeoutMs: 300 });
      const { port } = a.listener.address;
      const unknown = raw(port, Uint8Array.of(0x58, 0x54, 1, 4, ...Buffer.from("nope")));
      expect(await unknown.closed).toBeLessThan(2000);
      expect((await tcpRejections(a.listener.address))?.lastRejection).toBe("no claim for 'nope'");
      const untagged = raw(port, Uint8Array.of(3, 0, 0));
      expect(await untagged.closed).toBeLessThan(2000);
      expect((await tcpRejections(a.listener.address))?.lastRejection).toContain("untagged");
      const mute = raw(port, new Uint8Array(0));
      const waited = await mute.closed;
      expect(waited).toBeGreaterThanOrEqual(250);
      expect(waited).toBeLessThan(3000);
      expect((await tcpRejections(a.listener.address))?.rejected).toBe(3);
      const client = await dialTcp(a.listener.address, "alpha", { timeoutMs: 2000, signal, impl });
      opened.push({ close: () => client.destroy() });
      expect(await a.next()).toBeDefined();
      expect(a.accepted.length).toBe(0);
    });

    test("property: whatever a peer sends first, the listener routes it or closes it, never hangs or crashes", async () => {
      let routed: ((to: string) => void) | null = null;
      const at = { host: HOST, port: 0 };
      const alpha = await listenTcp(at, "alpha", () => routed?.("alpha"), { impl, preambleTimeoutMs: 300 });
      opened.push(alpha);
      opened.push(await listenTcp(alpha.address, "beta", () => routed?.("beta"), { impl, untagged: true }));
      await fc.assert(
        fc.asyncProperty(peerFirstBytes, async (bytes) => {
          const before = (await tcpRejections(alpha.address))!.rejected;
          const handed = new Promise<string>((r) => (routed = r));
          const c = raw(alpha.address.port, bytes);
          // Decided by the deadline at the latest: closed, or handed to the tag it names, or untagged to beta.
          const outcome = await Promise.race([
            c.closed.then(() => "closed"),
            handed,
            Bun.sleep(3000).then(() => "hung"),
          ]);
          const rejected = (await tcpRejections(alpha.address))!.rejected - before;
          const expected = parsePreamble(bytes.subarray(0, MAX_PREAMBLE_BYTES));
          if (bytes.length && bytes[0] !== 0x58) expect(outcome).toBe("beta");
          else if (expected.kind === "complete" && expected.tag !== "gamma") expect(outcome).toBe(expected.tag);
          else expect([outcome, rejected]).toEqual(["closed", 1]);
          c.socket.destroy();
        }),
        { seed: 15, numRuns: 40 },
      );
      // The listener still serves a real dial afterwards.
      const handed = new Promise<string>((r) => (routed = r));
      const client = await dialTcp(alpha.address, "alpha", { timeoutMs: 2000, signal, impl });
      opened.push({ close: () => client.destroy() });
      expect(await handed).toBe("alpha");
    }, 60_000);

    test(`at most ${MAX_ROUTING} connections may owe their preamble; more are closed at once`, async () => {
      const a = await claim({ host: HOST, port: 0 }, "alpha", impl, { preambleTimeoutMs: 4000 });
      const { port } = a.listener.address;
      const mutes = Array.from({ length: MAX_ROUTING }, () => raw(port, new Uint8Array(0)));
      await Promise.all(mutes.map((m) => new Promise((r) => m.socket.once("connect", r))));
      await Bun.sleep(200);
      const extra = raw(port, new Uint8Array(0));
      expect(await extra.closed).toBeLessThan(2000);
      expect((await tcpRejections(a.listener.address))?.lastRejection).toContain(`more than ${MAX_ROUTING}`);
    });

    test("closing one claim leaves the other serving; closing the last frees the port", async () => {
      const a = await claim({ host: HOST, port: 0 }, "alpha", impl);
      const at = a.listener.address;
      const b = await claim(at, "beta", impl);
      await a.listener.close();
      const unknown = raw(at.port, Uint8Array.of(0x58, 0x54, 1, 5, ...Buffer.from("alpha")));
      expect(await unknown.closed).toBeLessThan(2000);
      const client = await dialTcp(at, "beta", { timeoutMs: 2000, signal, impl });
      opened.push({ close: () => client.destroy() });
      await b.next();
      await b.listener.close();
      const plain = createServer();
      await new Promise<void>((resolve, reject) => plain.once("error", reject).listen(at.port, HOST, resolve));
      plain.close();
      // And a new claim on that port binds afresh.
      const again = await claim(at, "alpha", impl);
      expect(again.listener.address.port).toBe(at.port);
    });
  });
}

test("a second copy of the helpers (a plugin's own node_modules) shares the same port", async () => {
  const copy = (await import(`./server.ts?copy=${Date.now()}`)) as typeof import("./server.ts");
  expect(copy.listenTcp).not.toBe(listenTcp);
  const a = await claim({ host: HOST, port: 0 }, "alpha", "bun");
  const other: StreamConnection[] = [];
  opened.push(await copy.listenTcp(a.listener.address, "beta", (c) => other.push(c)));
  const client = await dialTcp(a.listener.address, "beta", { timeoutMs: 2000, signal });
  opened.push({ close: () => client.destroy() });
  for (let i = 0; i < 100 && !other.length; i++) await Bun.sleep(20);
  expect(other.length).toBe(1);
});
