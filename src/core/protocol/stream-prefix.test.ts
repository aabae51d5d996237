import { describe, expect, test } from "bun:test";
import type { StreamConnection } from "../../plugin/api.ts";
import { XferError } from "../errors.ts";
import { StreamPrefix } from "./stream-prefix.ts";

const limits = (timeoutMs = 1000) => ({
  timeoutMs,
  timeout: () => new XferError("timeout", "too slow"),
  ended: () => new XferError("peer-gone", "ended"),
});

async function* chunks(parts: number[][], stallAfter = Number.POSITIVE_INFINITY) {
  let i = 0;
  for (const p of parts) {
    if (i++ === stallAfter) await new Promise(() => {});
    yield Uint8Array.from(p);
  }
}

describe("StreamPrefix", () => {
  test("fills across chunks, takes a prefix, and hands the stream on with nothing lost", async () => {
    const p = new StreamPrefix(chunks([[1, 2], [3, 4, 5], [6], [7, 8]]));
    await p.fill(4, limits());
    expect([...p.take(3)]).toEqual([1, 2, 3]);
    const written: number[][] = [];
    const conn = {
      remote: "peer",
      write: async (c: Uint8Array) => void written.push([...c]),
      end: async () => {},
      destroy() {},
    } as unknown as StreamConnection;
    const rest = p.streamOn(conn);
    const got: number[] = [];
    for await (const c of rest.readable) got.push(...c);
    expect(got).toEqual([4, 5, 6, 7, 8]);
    await rest.write(Uint8Array.of(9));
    expect(written).toEqual([[9]]);
  });

  test("the stream's end and the deadline give their own errors", async () => {
    await expect(new StreamPrefix(chunks([[1]])).fill(2, limits())).rejects.toThrow("ended");
    await expect(new StreamPrefix(chunks([[1], [2]], 1)).fill(2, limits(20))).rejects.toThrow("too slow");
  });
});
