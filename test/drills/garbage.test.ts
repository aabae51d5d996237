/**
 * Drill: garbage at a live receiver. Random and mutated datagrams at its shared UDP port (every
 * datagram transport listens there), and authenticated sessions that send mutated session messages.
 * The receiver must stay up with bounded memory, write nothing outside its folder, publish nothing,
 * and still serve an honest sender afterwards. XFER_DRILL_GARBAGE scales the counts (CI: 100,000
 * datagrams, 200 sessions).
 */
import { describe, expect, setDefaultTimeout, test } from "bun:test";
import { createSocket } from "node:dgram";
import { mkdir, readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import fc from "fast-check";
import { sendAndWait, startReceiver, tempDir } from "../helpers/cli.ts";
import { randomBytes, rssMb } from "../helpers/tools.ts";
import { dirEntry, fileEntry, HostilePeer, hello } from "../hostile/peer.ts";

const SCALE = Number(process.env.XFER_DRILL_GARBAGE ?? 1);
const DATAGRAMS = 100_000 * SCALE;
const SESSIONS = 200 * SCALE;
setDefaultTimeout(120_000 * SCALE);

async function allFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true, recursive: true }))
    if (!e.isDirectory()) out.push(join(e.parentPath, e.name));
  return out;
}

/** A session message as a hostile peer might mutate it: right type, fields of any value. */
const message = fc.oneof(
  fc.record({
    type: fc.constant("offer-head"),
    entries: fc.integer({ min: -1, max: 5 }),
    files: fc.integer({ min: -1, max: 5 }),
    bytes: fc.oneof(fc.nat(10), fc.constant(null)),
  }),
  fc.record({
    type: fc.constant("offer-page"),
    first: fc.integer({ min: -1, max: 3 }),
    entries: fc.array(
      fc.oneof(
        fc.record({
          path: fc.string({ maxLength: 12 }),
          kind: fc.constantFrom("file", "dir"),
          size: fc.oneof(fc.nat(), fc.constant(null), fc.integer()),
          mode: fc.integer(),
          mtimeMs: fc.double(),
        }),
        fc.constant(fileEntry("ok.bin", 3)),
        fc.constant(dirEntry("d")),
      ),
      { maxLength: 4 },
    ),
  }),
  fc.record({
    type: fc.constant("file"),
    index: fc.integer({ min: -1, max: 4 }),
    offset: fc.integer({ min: -1, max: 10 }),
  }),
  fc.record({
    type: fc.constant("file-end"),
    index: fc.integer({ min: -1, max: 4 }),
    size: fc.nat(10),
    hash: fc.string({ unit: fc.constantFrom(..."0123456789abcdef"), minLength: 64, maxLength: 64 }),
  }),
  fc.record({ type: fc.constantFrom("done", "ping", "summary", "accept", "hello", "offer-end", "nonsense") }),
  fc.jsonValue({ maxDepth: 2 }).map((v) => ({ type: "offer-page", first: 0, entries: v })),
);

describe("garbage at a live receiver", () => {
  test(`${DATAGRAMS} random and mutated datagrams, ${SESSIONS} sessions of mutated messages: up, bounded, nothing published`, async () => {
    await using root = await tempDir();
    const dst = join(root.path, "in");
    await writeFile(join(root.path, "marker"), "outside");
    await mkdir(dst);
    const recv = await startReceiver(dst);
    let peak = 0;
    const sampling = setInterval(() => void rssMb(recv.proc.pid!).then((mb) => (peak = Math.max(peak, mb))), 200);
    try {
      // Datagrams: random bytes, and ones that start like ours (udp-raw 'R', udp-reliable's byte, the seal's kinds).
      const sock = createSocket("udp4");
      await new Promise<void>((r) => sock.bind(0, "127.0.0.1", r));
      const noise = randomBytes(4 << 20, 77);
      const leads = [0x52, 0x01, 0x02, 0x04, 0x05, 0xc0, 0x40];
      for (let i = 0; i < DATAGRAMS; i += 200) {
        await Promise.all(
          Array.from({ length: 200 }, (_, j) => {
            const n = 1 + (((i + j) * 7919) % 1400);
            const at = ((i + j) * 104729) % (noise.byteLength - n);
            const d = Uint8Array.from(noise.subarray(at, at + n));
            if ((i + j) % 2 === 0) d[0] = leads[(i + j) % leads.length]!;
            return new Promise<void>((r) => sock.send(d, recv.port, "127.0.0.1", () => r()));
          }),
        );
      }
      sock.close();
      // Authenticated sessions saying mutated things: each ends in a refusal or an error, never a crash.
      let answered = 0;
      const sequences = fc.sample(fc.array(message, { minLength: 1, maxLength: 5 }), { numRuns: SESSIONS, seed: 42 });
      for (let i = 0; i < sequences.length; i += 8)
        await Promise.all(
          sequences.slice(i, i + 8).map(async (seq) => {
            const peer = await HostilePeer.dial(recv.port);
            try {
              await peer.send(hello("sender"));
              for (const m of seq) await peer.send(m as { type: string });
              if ((await peer.next(1000))?.type === "hello") answered++;
            } catch {
              // The receiver hung up on us: that is an answer.
            } finally {
              peer.destroy();
            }
          }),
        );
      expect(recv.proc.exitCode).toBeNull();
      // The sessions were real: the receiver got as far as answering hello in (nearly) all of them.
      expect(answered).toBeGreaterThan(SESSIONS * 0.9);
      // Still serving: an honest transfer goes through.
      await using src = await tempDir();
      const content = randomBytes(1 << 20, 5);
      await writeFile(join(src.path, "honest.bin"), content);
      const sent = await sendAndWait([join(src.path, "honest.bin"), `127.0.0.1:${recv.port}`]);
      expect(sent.code, sent.stderr).toBe(0);
      expect(Buffer.compare(await readFile(join(dst, "honest.bin")), Buffer.from(content))).toBe(0);
    } finally {
      clearInterval(sampling);
      recv.proc.kill();
    }
    // Nothing outside the folder; inside, nothing published but the honest file (parts may remain).
    expect((await readdir(root.path)).sort()).toEqual(["in", "marker"]);
    const published = (await allFiles(dst)).filter((f) => !f.endsWith(".xfer-part") && !f.endsWith(".missing.json"));
    expect(published).toEqual([join(dst, "honest.bin")]);
    expect(peak).toBeGreaterThan(0);
    expect(peak).toBeLessThan(300);
  });
});
