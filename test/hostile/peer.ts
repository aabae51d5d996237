/**
 * A hostile peer: an independent client (or server) of the session protocol that says whatever a
 * test tells it to, inside properly sealed records (it knows the code: the code keeps strangers out,
 * these tests are about peers that are authentic but not honest).
 */
import tcpStream from "../../plugins/tcp-stream/index.ts";
import { allocDataFrame, encodeControlFrame, FrameDecoder } from "../../src/core/protocol/frames.ts";
import { SESSION_PROTOCOL_VERSION } from "../../src/core/protocol/messages.ts";
import { CodeAttempts } from "../../src/core/secure/attempts.ts";
import { secureStream } from "../../src/core/secure/stream-handshake.ts";
import type { Listener, StreamConnection, TransportContext } from "../../src/plugin/api.ts";
import { TEST_CODE } from "../helpers/cli.ts";
import { offerMessages } from "../helpers/offer.ts";
import { sealedConnect } from "../helpers/sealed-client.ts";

export type Msg = Record<string, unknown> & { type: string };

const ctx: TransportContext = { options: { extra: {} }, log: { debug() {}, info() {}, warn() {} }, stats() {} };

export class HostilePeer {
  private readonly decoder = new FrameDecoder();
  private readonly inbox: Msg[] = [];
  private wake: (() => void) | null = null;
  closed = false;
  /** Why the connection ended, as the transport said it. */
  closeReason: string | null = null;

  constructor(readonly conn: StreamConnection) {
    void (async () => {
      try {
        for await (const chunk of conn.readable)
          for (const p of this.decoder.push(chunk))
            if (p.kind === "control") {
              const m = JSON.parse(p.json) as Msg;
              if (m.type !== "ping") {
                this.inbox.push(m);
                this.wake?.();
              }
            }
      } catch (err) {
        this.closeReason = String(err);
      } finally {
        this.closed = true;
        this.wake?.();
      }
    })();
  }

  /** A sender that has passed the handshake, before hello. */
  static async dial(port: number): Promise<HostilePeer> {
    return new HostilePeer(await sealedConnect(port));
  }

  /** A sender that has said hello and had it answered. */
  static async afterHello(port: number): Promise<HostilePeer> {
    const peer = await HostilePeer.dial(port);
    await peer.send(hello("sender"));
    await peer.expect("hello");
    return peer;
  }

  async send(msg: Msg): Promise<void> {
    await this.conn.write(encodeControlFrame(JSON.stringify(msg)));
  }

  /** The whole offer, paged as an honest sender pages it. */
  async offer(entries: readonly OfferedEntry[], perPage?: number): Promise<void> {
    let first = true;
    for (const m of offerMessages(entries, perPage)) {
      try {
        await this.send(m);
      } catch (err) {
        // A receiver that rejects an early page answers and closes while the later messages still go
        // out, as an honest sender's do; the test then reads its answer. Failing to send the head is real.
        if (first) throw err;
        return;
      }
      first = false;
    }
  }

  async sendData(bytes: Uint8Array): Promise<void> {
    const { frame, payload } = allocDataFrame(bytes.byteLength);
    payload.set(bytes);
    await this.conn.write(frame);
  }

  /** The next message (pings skipped), or null when the peer closed or `ms` passed. */
  async next(ms = 5000): Promise<Msg | null> {
    const deadline = Date.now() + ms;
    while (this.inbox.length === 0 && !this.closed && Date.now() < deadline) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      await new Promise<void>((r) => {
        this.wake = r;
        timer = setTimeout(r, Math.max(1, deadline - Date.now()));
      });
      clearTimeout(timer);
      this.wake = null;
    }
    return this.inbox.shift() ?? null;
  }

  async expect(type: string, ms = 5000): Promise<Msg> {
    const m = await this.next(ms);
    if (m?.type !== type) throw new Error(`expected '${type}', got ${JSON.stringify(m)} (closed: ${this.closed})`);
    return m;
  }

  /** Resolves once the other side closed the connection; false if it had not after `ms`. */
  async waitClosed(ms: number): Promise<boolean> {
    const deadline = Date.now() + ms;
    while (!this.closed && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    return this.closed;
  }

  destroy(): void {
    this.conn.destroy();
  }
}

/** An entry as a peer offers it: the fields a test sets, any of them hostile. */
export type OfferedEntry = { path: string; kind: string; size: number | null } & Record<string, unknown>;

export function hello(role: "sender" | "receiver"): Msg {
  return {
    type: "hello",
    protocol: "xfer",
    version: SESSION_PROTOCOL_VERSION,
    role,
    software: "hostile/0",
    features: [],
  };
}

export function fileEntry(path: string, size: number | null, mode = 0o644): OfferedEntry {
  return { path, kind: "file", size, mode, mtimeMs: 1e12 };
}

export function dirEntry(path: string, mode = 0o755): OfferedEntry {
  return { path, kind: "dir", size: 0, mode, mtimeMs: 1e12 };
}

/**
 * A hostile receiver on 127.0.0.1: it runs the real handshake with the test code, then `script`
 * plays the receiving side however it likes. Resolves with the listening port.
 */
export async function hostileReceiver(
  script: (peer: HostilePeer) => Promise<void>,
): Promise<{ port: number; listener: Listener; done: Promise<void> }> {
  let finish: () => void = () => {};
  const done = new Promise<void>((r) => (finish = r));
  const listener = await tcpStream.listen({ host: "127.0.0.1", port: 0 }, ctx, (raw) => {
    void (async () => {
      try {
        const conn = await secureStream(raw, {
          role: "receiver",
          code: TEST_CODE,
          attempts: new CodeAttempts(false),
          ctx: { kind: "stream", transport: "tcp-stream" },
        });
        await script(new HostilePeer(conn));
      } catch {
        // The sender under test may tear the connection down: that is its answer.
      } finally {
        finish();
      }
    })();
  });
  return { port: listener.address.port, listener, done };
}
