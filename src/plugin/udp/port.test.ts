import { afterEach, describe, expect, test } from "bun:test";
import { bindUdp, type UdpPeer, type UdpPort } from "./port.ts";

const opened: UdpPort[] = [];
afterEach(() => {
  for (const p of opened.splice(0)) p.close();
});

async function bind(host: string, port: number, shared = false, recvBufferBytes?: number): Promise<UdpPort> {
  const p = await bindUdp({ host, port }, { shared, recvBufferBytes });
  opened.push(p);
  return p;
}

function collect(port: UdpPort, first: number) {
  const got: { data: Uint8Array; from: UdpPeer }[] = [];
  port.attach({
    claim(data, from) {
      if (data[0] !== first) return false;
      got.push({ data, from });
      return true;
    },
  });
  return got;
}

async function until(cond: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !cond(); i++) await Bun.sleep(5);
}

for (const impl of ["bun", "node"]) {
  describe(`UDP port (${impl} adapter)`, () => {
    test("datagrams arrive whole, with the sender's address", async () => {
      process.env.XFER_UDP_IMPL = impl;
      try {
        const server = await bind("127.0.0.1", 0);
        const got = collect(server, 7);
        const client = await bind("127.0.0.1", 0);
        expect(server.impl).toBe(impl);
        const batch = [new Uint8Array([7, 1]), new Uint8Array(1400).fill(7)];
        expect(client.send(batch, { address: "127.0.0.1", port: server.local.port })).toBe(2);
        await until(() => got.length === 2);
        expect(got.map((g) => g.data.byteLength).sort()).toEqual([1400, 2]);
        expect(got[0]?.from).toEqual({ address: "127.0.0.1", port: client.local.port });
      } finally {
        delete process.env.XFER_UDP_IMPL;
      }
    });
  });
}

test("a port that says it copies on send delivers what was sent though the buffers are overwritten at once", async () => {
  process.env.XFER_UDP_IMPL = "bun";
  try {
    const server = await bind("127.0.0.1", 0);
    const got = collect(server, 7);
    const client = await bind("127.0.0.1", 0);
    expect(client.copiesOnSend).toBe(true);
    const to = { address: "127.0.0.1", port: server.local.port };
    const slab = new Uint8Array(32 * 1000);
    const batch = Array.from({ length: 32 }, (_, i) => slab.subarray(i * 1000, (i + 1) * 1000).fill(7));
    const sent = client.send(batch, to); // sendMany
    expect(sent).toBeGreaterThan(1);
    slab.fill(0xee); // what the next batch does to recycled memory
    const one = slab.subarray(0, 1000).fill(7);
    expect(client.send([one], to)).toBe(1); // send
    one.fill(0xee);
    await until(() => got.length === sent + 1);
    expect(got.length).toBe(sent + 1);
    for (const g of got) expect(g.data.every((b) => b === 7)).toBe(true);
  } finally {
    delete process.env.XFER_UDP_IMPL;
  }
});

test("node:dgram keeps references until its sends complete: it does not claim to copy", async () => {
  process.env.XFER_UDP_IMPL = "node";
  try {
    expect((await bind("127.0.0.1", 0)).copiesOnSend).toBe(false);
  } finally {
    delete process.env.XFER_UDP_IMPL;
  }
});

test("transports sharing a port each get only the datagrams they claim", async () => {
  const probe = await bind("127.0.0.1", 0);
  const port = probe.local.port;
  probe.close();
  const b = await bind("127.0.0.1", port, true);
  const c = await bind("127.0.0.1", port, true);
  expect(c.local.port).toBe(port);
  const gotB = collect(b, 1);
  const gotC = collect(c, 2);
  const sender = await bind("127.0.0.1", 0);
  const to = { address: "127.0.0.1", port };
  sender.send([new Uint8Array([1]), new Uint8Array([2]), new Uint8Array([3]), new Uint8Array([2])], to);
  await until(() => gotB.length === 1 && gotC.length === 2);
  expect(gotB.length).toBe(1);
  expect(gotC.length).toBe(2);
  b.close();
  // The socket stays open for the remaining handle.
  sender.send([new Uint8Array([2])], to);
  await until(() => gotC.length === 3);
  expect(gotC.length).toBe(3);
});

test("a non-shared bind of a busy port fails", async () => {
  const a = await bind("127.0.0.1", 0, true);
  await expect(bindUdp({ host: "127.0.0.1", port: a.local.port })).rejects.toThrow();
});
