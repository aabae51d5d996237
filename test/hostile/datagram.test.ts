/**
 * A hostile datagram peer at a live receiver's udp-raw port: what comes back to an address that has
 * not proved anything is never more than three times what it sent (no amplifier for forged sources),
 * and junk gets no answer at all.
 */
import { describe, expect, setDefaultTimeout, test } from "bun:test";
import { createSocket } from "node:dgram";
import { InitiatorHandshake } from "../../src/core/secure/handshake.ts";
import { encodeHandshake } from "../../src/core/secure/sealed-datagrams.ts";
import { startReceiver, TEST_CODE, tempDir } from "../helpers/cli.ts";

setDefaultTimeout(20_000);

const UDP_RAW_MAGIC = 0x52;

/** Send `datagrams` to the port, then count what comes back within `ms`. */
async function exchange(port: number, datagrams: Uint8Array[], ms = 2000): Promise<{ sent: number; back: number }> {
  const sock = createSocket("udp4");
  await new Promise<void>((r) => sock.bind(0, "127.0.0.1", r));
  let back = 0;
  sock.on("message", (m) => {
    back += m.byteLength;
  });
  let sent = 0;
  for (const d of datagrams) {
    await new Promise<void>((r) => sock.send(d, port, "127.0.0.1", () => r()));
    sent += d.byteLength;
    await Bun.sleep(20);
  }
  await Bun.sleep(ms);
  sock.close();
  return { sent, back };
}

const framed = (d: Uint8Array) => Uint8Array.of(UDP_RAW_MAGIC, ...d);

describe("a hostile datagram peer", () => {
  test("a valid handshake start, repeated, gets at most as much back as it sent (≤ 3×)", async () => {
    await using dst = await tempDir();
    const recv = await startReceiver(dst.path);
    const pake = framed(
      encodeHandshake(new InitiatorHandshake(TEST_CODE, { kind: "datagram", transport: "udp-raw" }).first),
    );
    const { sent, back } = await exchange(
      recv.port,
      Array.from({ length: 10 }, () => pake),
    );
    expect(back).toBeGreaterThan(0); // it is answered: the case is real, not a dropped request
    expect(back).toBeLessThanOrEqual(3 * sent);
    recv.proc.kill();
  });

  test("junk and short datagrams get no answer", async () => {
    await using dst = await tempDir();
    const recv = await startReceiver(dst.path);
    const junk = [
      framed(new Uint8Array(10)),
      framed(new Uint8Array(399).fill(5)),
      Uint8Array.of(4, 0, 0, 0, 0, 0, 0, 0, 1, ...new Uint8Array(40)),
      framed(Uint8Array.of(4, ...new Uint8Array(60))),
    ];
    const { back } = await exchange(recv.port, junk, 1000);
    expect(back).toBe(0);
    recv.proc.kill();
  });
});
