/** What the drills share: reproducible content and a TCP path they can slow down and cut. */
import { createServer, type Socket, connect as tcpConnect } from "node:net";

/** Seeded pseudo-random bytes (xorshift): incompressible, the same on every run. */
export function randomBytes(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i += 4) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x;
    out[i + 1] = x >>> 8;
    out[i + 2] = x >>> 16;
    out[i + 3] = x >>> 24;
  }
  return out;
}

/** A TCP proxy on 127.0.0.1 that forwards at a bounded rate and can go dark (nothing forwarded). */
export async function tcpProxy(targetPort: number, bytesPerSec: number) {
  const pairs: [Socket, Socket][] = [];
  let dark = false;
  const pump = (from: Socket, to: Socket) => {
    // One chunk at a time, in order; the end is passed on only after the last chunk went through.
    let queue = Promise.resolve();
    from.on("data", (chunk: Buffer) => {
      from.pause();
      queue = queue.then(async () => {
        while (dark) await Bun.sleep(20);
        await Bun.sleep((chunk.byteLength / bytesPerSec) * 1000);
        await new Promise<void>((r) => to.write(chunk, () => r()));
        from.resume();
      });
    });
    from.on("end", () => void queue.then(() => to.end()));
    from.on("error", () => to.destroy());
  };
  const server = createServer((client) => {
    const upstream = tcpConnect(targetPort, "127.0.0.1");
    pairs.push([client, upstream]);
    pump(client, upstream);
    pump(upstream, client);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return {
    port: (server.address() as { port: number }).port,
    set dark(v: boolean) {
      dark = v;
    },
    close() {
      for (const pair of pairs) for (const socket of pair) socket.destroy();
      server.close();
    },
  };
}
