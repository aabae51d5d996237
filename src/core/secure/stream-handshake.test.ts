import { describe, expect, test } from "bun:test";
import type { StreamConnection } from "../../plugin/api.ts";
import { CodeAttempts } from "./attempts.ts";
import { secureStream } from "./stream-handshake.ts";

/** Two connected in-memory ends; each write arrives a tick later, as over a busy transport. */
function pipe(): [StreamConnection, StreamConnection] {
  const make = (inbox: Uint8Array[], wakeups: (() => void)[], peer: { inbox: Uint8Array[]; wake: (() => void)[] }) => {
    let ended = false;
    const end: StreamConnection = {
      remote: "memory",
      readable: {
        async *[Symbol.asyncIterator]() {
          for (;;) {
            const next = inbox.shift();
            if (next) yield next;
            else if (ended) return;
            else await new Promise<void>((r) => wakeups.push(r));
          }
        },
      },
      async write(chunk) {
        const copy = new Uint8Array(chunk);
        await new Promise((r) => setTimeout(r, 0));
        peer.inbox.push(copy);
        for (const w of peer.wake.splice(0)) w();
      },
      async end() {
        peerEnd.ended();
      },
      destroy() {},
    };
    const peerEnd = { ended: () => {} };
    return {
      end,
      markEnded: () => {
        ended = true;
        for (const w of wakeups.splice(0)) w();
      },
      peerEnd,
    };
  };
  const a = { inbox: [] as Uint8Array[], wake: [] as (() => void)[] };
  const b = { inbox: [] as Uint8Array[], wake: [] as (() => void)[] };
  const left = make(a.inbox, a.wake, b);
  const right = make(b.inbox, b.wake, a);
  left.peerEnd.ended = right.markEnded;
  right.peerEnd.ended = left.markEnded;
  return [left.end, right.end];
}

const ctx = { kind: "stream", transport: "memory" };

async function readAll(conn: StreamConnection): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  for await (const c of conn.readable) parts.push(c);
  return new Uint8Array(Buffer.concat(parts));
}

describe("secureStream", () => {
  test("same code: concurrent writes of any size arrive whole and in order", async () => {
    const [s, r] = pipe();
    const attempts = new CodeAttempts(false);
    const [sender, receiver] = await Promise.all([
      secureStream(s, { role: "sender", code: "2-memory-pipe-code", ctx }),
      secureStream(r, { role: "receiver", code: "2-memory-pipe-code", ctx, attempts }),
    ]);
    const big = new Uint8Array(3 * 1024 * 1024).map((_, i) => i * 7);
    const small = new Uint8Array([1, 2, 3]);
    // Not awaited one by one: a ping racing a data write, as the session channel does.
    await Promise.all([sender.write(big), sender.write(small), sender.write(big.subarray(0, 1000))]);
    const got = readAll(receiver);
    await sender.end();
    const bytes = await got;
    expect(bytes.byteLength).toBe(big.byteLength + 3 + 1000);
    expect(Buffer.compare(bytes.subarray(0, big.byteLength), big)).toBe(0);
    expect([...bytes.subarray(big.byteLength, big.byteLength + 3)]).toEqual([1, 2, 3]);
    expect(attempts.wrong).toBe(0);
  });

  test("different codes: both sides fail with auth, and the receiver counts a wrong guess", async () => {
    const [s, r] = pipe();
    const attempts = new CodeAttempts(false);
    const [sent, received] = await Promise.allSettled([
      secureStream(s, { role: "sender", code: "2-memory-pipe-code", ctx }),
      secureStream(r, { role: "receiver", code: "2-other-pipe-code", ctx, attempts }),
    ]);
    expect(sent.status === "rejected" && (sent.reason as { code: string }).code).toBe("auth");
    expect(received.status === "rejected" && (received.reason as { code: string }).code).toBe("auth");
    expect(attempts.wrong).toBe(1);
  });
});
