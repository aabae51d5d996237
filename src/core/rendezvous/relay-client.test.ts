/** The relay dial's second attempt, which spares a lost SYN TCP's 1 s retransmission timeout. */
import { describe, expect, test } from "bun:test";
import type { StreamConnection } from "../../plugin/api.ts";
import { dialTwice } from "./relay-client.ts";

function fakeConn(name: string) {
  const state = { destroyed: false };
  const conn: StreamConnection = {
    remote: name,
    readable: { async *[Symbol.asyncIterator]() {} },
    write: async () => {},
    end: async () => {},
    destroy: () => {
      state.destroyed = true;
    },
  };
  return { conn, state };
}

/**
 * A dial that connects after `ms` (null: never, until aborted) or fails at once with `refuse`; a
 * `deaf` one cannot be aborted (its connection was already on the way).
 */
function scripted(plan: { ms: number | null; refuse?: string; deaf?: boolean }[]) {
  const aborted: boolean[] = [];
  const made: ReturnType<typeof fakeConn>[] = [];
  const dial = (signal: AbortSignal) => {
    const i = aborted.length;
    aborted.push(false);
    const step = plan[i]!;
    return new Promise<StreamConnection>((resolve, reject) => {
      let done = false;
      if (!step.deaf)
        signal.addEventListener("abort", () => {
          if (done) return;
          done = true;
          aborted[i] = true;
          reject(new Error("dial aborted"));
        });
      if (step.refuse) {
        done = true;
        return reject(new Error(step.refuse));
      }
      if (step.ms !== null)
        setTimeout(() => {
          if (done) return;
          done = true;
          const c = fakeConn(`conn ${i}`);
          made.push(c);
          resolve(c.conn);
        }, step.ms);
    });
  };
  return { dial, aborted, made };
}

describe("dialTwice", () => {
  test("a first dial that hangs (its SYN lost) is overtaken by the second, and aborted", async () => {
    const s = scripted([{ ms: null }, { ms: 5 }]);
    const conn = await dialTwice(s.dial, new AbortController().signal, 20);
    expect(conn.remote).toBe("conn 1");
    expect(s.aborted).toEqual([true, false]);
  });

  test("a first dial that connects in time is the only one", async () => {
    const s = scripted([{ ms: 5 }, { ms: 5 }]);
    const conn = await dialTwice(s.dial, new AbortController().signal, 40);
    expect(conn.remote).toBe("conn 0");
    await Bun.sleep(60);
    expect(s.aborted).toEqual([false]);
  });

  test("when both connect, the later one is closed", async () => {
    const s = scripted([{ ms: 40 }, { ms: 30, deaf: true }]);
    const conn = await dialTwice(s.dial, new AbortController().signal, 20);
    expect(conn.remote).toBe("conn 0");
    await Bun.sleep(50);
    expect(s.made.map((m) => [m.conn.remote, m.state.destroyed])).toEqual([
      ["conn 0", false],
      ["conn 1", true],
    ]);
  });

  test("a refusal before the second dial fails at once, with its reason", async () => {
    const s = scripted([{ ms: null, refuse: "connection refused" }]);
    await expect(dialTwice(s.dial, new AbortController().signal, 20)).rejects.toThrow("connection refused");
    await Bun.sleep(40);
    expect(s.aborted).toHaveLength(1);
  });

  test("both failing gives the last reason; an abort stops both", async () => {
    const both = scripted([{ ms: null }, { ms: null, refuse: "unreachable" }]);
    const stop = new AbortController();
    const pending = dialTwice(both.dial, stop.signal, 10);
    await Bun.sleep(30);
    stop.abort();
    await expect(pending).rejects.toThrow("dial aborted");
    expect(both.aborted).toEqual([true, false]);
  });
});
