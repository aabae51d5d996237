/**
 * A minimal client of the session protocol for tests that play a peer by hand: it dials over the
 * tcp-stream transport, runs the core's handshake with the test code, then sends control messages
 * of its choosing inside the sealed records and collects the replies.
 */

import tcpStream from "../../plugins/tcp-stream/index.ts";
import { encodeControlFrame, FrameDecoder } from "../../src/core/protocol/frames.ts";
import { secureStream } from "../../src/core/secure/stream-handshake.ts";
import type { StreamConnection, TransportContext } from "../../src/plugin/api.ts";
import { TEST_CODE } from "./cli.ts";

const ctx: TransportContext = { options: { extra: {} }, log: { debug() {}, info() {}, warn() {} }, stats() {} };

export async function sealedConnect(port: number, code = TEST_CODE): Promise<StreamConnection> {
  const raw = await tcpStream.dial({ host: "127.0.0.1", port }, ctx, new AbortController().signal);
  return secureStream(raw, { role: "sender", code, ctx: { kind: "stream", transport: "tcp-stream" } });
}

/** Send `messages`, then collect control replies until the peer closes (or 5 s pass). */
export async function sealedTalk(port: number, messages: object[]): Promise<Record<string, unknown>[]> {
  const conn = await sealedConnect(port);
  for (const m of messages) await conn.write(encodeControlFrame(JSON.stringify(m)));
  const replies: Record<string, unknown>[] = [];
  const decoder = new FrameDecoder();
  const timer = setTimeout(() => conn.destroy(), 5000);
  try {
    for await (const chunk of conn.readable)
      for (const p of decoder.push(chunk)) if (p.kind === "control") replies.push(JSON.parse(p.json));
  } catch {
    // The receiver tore the connection down after its last reply: what arrived is the answer.
  } finally {
    clearTimeout(timer);
    conn.destroy();
  }
  return replies;
}
