/**
 * The runtime's floor for tcp-stream: the least a Bun process pair must do to move a file over
 * loopback TCP with end-to-end BLAKE3 (the same hasher xfer uses). No session, no framing, no
 * names, no resume, no fsync; the sender reads with double-buffered positional reads, the receiver
 * hashes and writes each chunk as it arrives. Not a product path: bench/tcp-vs-socat.ts runs it
 * beside socat and xfer to show how much of the gap to socat the runtime and the hashing alone cost.
 *
 *   bun bench/floor-pair.ts recv <port> <out>     prints "listening" once bound, then the hash
 *   bun bench/floor-pair.ts send <port> <file>    prints the hash
 */
import { closeSync, openSync, writeSync } from "node:fs";
import { open } from "node:fs/promises";
import { newHasher } from "../src/core/hashing.ts";

const [role, portArg, path] = process.argv.slice(2);
const port = Number(portArg);
if ((role !== "send" && role !== "recv") || !port || !path) {
  console.error("usage: floor-pair.ts send|recv <port> <path>");
  process.exit(2);
}
const hasher = await newHasher();

if (role === "recv") {
  const fd = openSync(path, "w");
  let position = 0;
  const done = Promise.withResolvers<void>();
  const server = Bun.listen({
    hostname: "127.0.0.1",
    port,
    socket: {
      data(_socket, chunk: Uint8Array) {
        hasher.update(chunk);
        for (let at = 0; at < chunk.byteLength; ) at += writeSync(fd, chunk, at, chunk.byteLength - at, position + at);
        position += chunk.byteLength;
      },
      close: () => done.resolve(),
      error: (_socket, err) => done.reject(err),
    },
  });
  console.log("listening");
  await done.promise;
  server.stop(true);
  closeSync(fd);
  console.log(hasher.digest());
} else {
  const CHUNK = 512 * 1024;
  const fh = await open(path, "r");
  const size = (await fh.stat()).size;
  let drained: (() => void) | null = null;
  const socket = await Bun.connect({
    hostname: "127.0.0.1",
    port,
    socket: { data() {}, drain: () => drained?.() },
  });
  const write = async (bytes: Uint8Array) => {
    let at = 0;
    for (;;) {
      at += Math.max(0, socket.write(bytes.subarray(at)));
      if (at === bytes.byteLength) return;
      await new Promise<void>((resolve) => {
        drained = resolve;
      });
    }
  };
  const spare = [new Uint8Array(CHUNK), new Uint8Array(CHUNK)];
  const read = async (pos: number) => {
    const buf = spare.pop()!;
    const { bytesRead } = await fh.read(buf, 0, Math.min(CHUNK, size - pos), pos);
    return { buf, bytes: buf.subarray(0, bytesRead) };
  };
  let pos = 0;
  let next = size > 0 ? read(0) : null;
  while (next) {
    const { buf, bytes } = await next;
    if (bytes.byteLength === 0) throw new Error(`${path} shrank while being read`);
    pos += bytes.byteLength;
    next = pos < size ? read(pos) : null;
    hasher.update(bytes);
    await write(bytes);
    spare.push(buf);
  }
  socket.end();
  await fh.close();
  console.log(hasher.digest());
}
