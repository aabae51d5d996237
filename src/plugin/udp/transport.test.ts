import { describe, expect, test } from "bun:test";
import type { UdpPeer } from "./socket.ts";
import { dialUdpPort, listenUdpTransport } from "./transport.ts";

const MAGIC = 0x42;

async function until(cond: () => boolean): Promise<boolean> {
  for (let i = 0; i < 200 && !cond(); i++) await Bun.sleep(5);
  return cond();
}

describe("the UDP transport skeleton", () => {
  test("a listener claims only its datagrams, a dialer only its peer's; a closed listener keeps the socket until its last connection is released", async () => {
    const heard: { data: number[]; from: UdpPeer }[] = [];
    let live = 1;
    let stopped = false;
    const listening = await listenUdpTransport(
      { host: "127.0.0.1", port: 0 },
      {
        owns: (d) => d[0] === MAGIC,
        receive(data, from) {
          heard.push({ data: [...data], from });
          listening.port.send([new Uint8Array([MAGIC, data[1] ?? 0, 0xee])], from); // echo
        },
        onWritable() {},
        live: () => live,
        stopAccepting: () => {
          stopped = true;
        },
      },
    );
    const dialer = await dialUdpPort(listening.listener.address, new AbortController().signal);
    const echoes: number[][] = [];
    const detach = dialer.attach({ owns: (d) => d[0] === MAGIC, receive: (d) => echoes.push([...d]), onWritable() {} });
    const to = { address: "127.0.0.1", port: listening.listener.address.port };
    try {
      dialer.port.send([new Uint8Array([0x11, 1]), new Uint8Array([MAGIC, 2])], to); // the first is another transport's
      expect(await until(() => echoes.length === 1)).toBe(true);
      expect(heard.map((h) => h.data)).toEqual([[MAGIC, 2]]);
      expect(heard[0]?.from.port).toBe(dialer.port.local.port);
      expect(echoes).toEqual([[MAGIC, 2, 0xee]]);

      expect(listening.closing).toBe(false);
      await listening.listener.close();
      expect(stopped).toBe(true);
      expect(listening.closing).toBe(true);
      dialer.port.send([new Uint8Array([MAGIC, 3])], to);
      expect(await until(() => echoes.length === 2)).toBe(true); // one connection is still alive

      live = 0;
      listening.released();
      dialer.port.send([new Uint8Array([MAGIC, 4])], to);
      await Bun.sleep(100);
      expect(heard.map((h) => h.data[1])).toEqual([2, 3]); // the socket is gone
    } finally {
      detach();
      dialer.port.close();
    }
  });

  test("an aborted dial rejects before it opens a port", async () => {
    const aborted = new AbortController();
    aborted.abort();
    await expect(dialUdpPort({ host: "127.0.0.1", port: 9 }, aborted.signal)).rejects.toThrow();
  });
});
