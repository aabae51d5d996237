import { afterAll, expect, test } from "bun:test";
import { connect } from "node:net";
import tcp from "../../../plugins/tcp-stream/index.ts";
import type { TransportContext } from "../../plugin/api.ts";
import { DEFAULT_LIMITS } from "../../relay/rooms.ts";
import { startRelay } from "../../relay/server.ts";
import type { XferEvent } from "../events.ts";
import { meeting } from "./meeting.ts";
import { RelayRefused } from "./relay-client.ts";
import { encodeRelayMessage, RELAY_PROTOCOL_VERSION } from "./wire.ts";

const ctx: TransportContext = { options: { extra: {} }, log: { debug() {}, info() {}, warn() {} }, stats() {} };
const relay = await startRelay({ host: "127.0.0.1", port: 0, limits: DEFAULT_LIMITS });
afterAll(() => relay.close());

/** Someone else's receiver waiting in `room`. */
function occupy(room: string): Promise<void> {
  return new Promise((resolve) => {
    const s = connect(relay.address.port, "127.0.0.1", () =>
      s.write(encodeRelayMessage({ type: "join", relay: RELAY_PROTOCOL_VERSION, room, side: "recv" })),
    );
    s.once("data", () => resolve());
  });
}

function side(code: string, regenerate?: () => string) {
  const events: XferEvent[] = [];
  const m = meeting({
    base: tcp,
    relay: relay.address,
    side: "recv",
    code,
    regenerate,
    command: (c) => `other side: ${c}`,
    emit: (e) => events.push(e),
    direct: false,
    tcp: false,
    prefer: "direct",
    interfaces: () => [],
  });
  return { m, events };
}

test("a made-up code whose room is taken is replaced until a free room is found, and that code is shown", async () => {
  await occupy("701");
  await occupy("702");
  const fresh = ["702-b-b-b-b", "703-c-c-c-c"];
  const { m, events } = side("701-a-a-a-a", () => fresh.shift()!);
  const stop = new AbortController();
  expect(await m.join(ctx, stop.signal)).toBe("703-c-c-c-c");
  expect(events).toEqual([
    expect.objectContaining({
      event: "rendezvous",
      room: "703",
      code: "703-c-c-c-c",
      command: "other side: 703-c-c-c-c",
    }),
  ]);
});

test("a code given by the user is never replaced: a taken room is the relay's refusal", async () => {
  await occupy("704");
  const { m, events } = side("704-d-d-d-d");
  const err = await m.join(ctx, new AbortController().signal).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(RelayRefused);
  expect((err as RelayRefused).refusal).toBe("room-taken");
  expect((err as RelayRefused).exitCode).toBe(3);
  expect(events).toEqual([]);
});

for (const [revision, unknown] of [
  ["1.0 (before UDP reflection)", ["udp", "padded"]],
  ["1.2 (before the padded start)", ["padded"]],
] as const)
  test(`a relay of protocol ${revision} refuses the join's new fields: the side joins again without them`, async () => {
    // Its strict join schema refuses an unknown field.
    const { createServer } = await import("node:net");
    const { RelayFrameDecoder } = await import("./wire.ts");
    const joins: Record<string, unknown>[] = [];
    const old = createServer((s) => {
      const decoder = new RelayFrameDecoder();
      let preamble = true;
      s.on("data", (chunk: Buffer) => {
        // tcp-stream names itself first (PROTOCOL §6): 'X' 'T' version length tag.
        if (preamble && chunk[0] === 0x58) chunk = chunk.subarray(4 + chunk[3]!);
        preamble = false;
        decoder.push(chunk);
        const join = decoder.next() as Record<string, unknown> | null;
        if (!join) return;
        joins.push(join);
        const bad = unknown.find((key) => key in join);
        s.end(
          encodeRelayMessage(
            bad
              ? { type: "refused", code: "bad-request", reason: `invalid join: Unrecognized key: ${bad}` }
              : { type: "waiting", you: "127.0.0.1:1", expiresInSeconds: 600 },
          ),
        );
      });
      s.on("error", () => {});
    });
    await new Promise<void>((r) => old.listen(0, "127.0.0.1", () => r()));
    const port = (old.address() as { port: number }).port;
    const udpReliable = (await import("../../../plugins/udp-reliable/index.ts")).default;
    const m = meeting({
      base: tcp,
      relay: { host: "127.0.0.1", port },
      side: "recv",
      code: "705-e-e-e-e",
      command: (c) => c,
      emit: () => {},
      direct: true,
      tcp: true,
      udp: udpReliable,
      prefer: "direct",
      interfaces: () => [],
    });
    expect(await m.join(ctx, new AbortController().signal)).toBe("705-e-e-e-e");
    const asked = joins.map((j) => ["udp", "padded"].filter((key) => key in j));
    expect(asked).toEqual(unknown.length === 2 ? [["udp", "padded"], ["udp"], []] : [["udp", "padded"], ["udp"]]);
    old.close();
  });
