import { describe, expect, test } from "bun:test";
import type { StreamConnection } from "../../plugin/api.ts";
import { handOver } from "../../plugin/owned-chunks.ts";
import { SessionChannel } from "./channel.ts";
import { allocDataFrame, encodeControlFrame } from "./frames.ts";

function dataFrame(bytes: number, fill: number): Uint8Array {
  const { frame, payload } = allocDataFrame(bytes);
  payload.fill(fill);
  return frame;
}

/** A connection that yields `chunks` as they are, then ends. */
function connectionOf(chunks: Uint8Array[]): StreamConnection {
  return {
    remote: "test",
    readable: (async function* () {
      yield* chunks;
    })(),
    write: async () => {},
    end: async () => {},
    destroy: () => {},
  };
}

describe("session channel", () => {
  test("a handed-over chunk stays whole while its pieces are read, and is freed on the next read after them", async () => {
    // Two data frames in one chunk, as one record's plaintext carries them.
    const chunk = handOver(new Uint8Array(Buffer.concat([dataFrame(6000, 1), dataFrame(5000, 2)])));
    const after = handOver(new Uint8Array(Buffer.concat([dataFrame(7000, 3)])));
    const channel = new SessionChannel(connectionOf([chunk, after]), 0);
    try {
      const first = await channel.expect();
      const second = await channel.expect();
      // Both pieces came from `chunk`, which is still intact: the reader has not asked for more.
      expect(first.kind === "data" && first.bytes.every((b) => b === 1) && first.bytes.byteLength).toBe(6000);
      expect(second.kind === "data" && second.bytes.every((b) => b === 2) && second.bytes.byteLength).toBe(5000);
      expect(chunk.byteLength).toBe(11010);
      const third = await channel.expect();
      expect(chunk.byteLength).toBe(0);
      expect(third.kind === "data" && third.bytes.every((b) => b === 3) && third.bytes.byteLength).toBe(7000);
      expect(await channel.next()).toBeNull();
      expect(after.byteLength).toBe(0);
    } finally {
      channel.destroy();
    }
  });

  test("a chunk the transport did not hand over is left alone", async () => {
    const chunk = new Uint8Array(Buffer.concat([dataFrame(6000, 4), encodeControlFrame('{"type":"ping"}')]));
    const channel = new SessionChannel(connectionOf([chunk]), 0);
    try {
      const first = await channel.expect();
      expect(first.kind).toBe("data");
      expect(await channel.next()).toBeNull();
      expect(chunk.byteLength).toBe(6000 + 5 + 5 + 15);
      expect(chunk[100]).toBe(4);
    } finally {
      channel.destroy();
    }
  });
});
