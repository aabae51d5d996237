import { XferError } from "../errors.ts";
import type { SessionChannel } from "../protocol/channel.ts";
import {
  type ControlMessage,
  FEATURE_RECEIVED,
  FEATURE_REFUSE,
  FEATURE_SYMLINKS,
  PROTOCOL_NAME,
  SESSION_PROTOCOL_VERSION,
} from "../protocol/messages.ts";
import { SOFTWARE } from "../version.ts";

/**
 * Both sides introduce themselves, first thing inside the sealed records (the code's handshake came
 * before, src/core/secure/): software names and features reach only an authenticated peer.
 * Resolves with the features the peer announced.
 */
/** Returns the peer's features (capability names this side may rely on). */
export async function exchangeHello(channel: SessionChannel, role: "sender" | "receiver"): Promise<readonly string[]> {
  const mine: ControlMessage = {
    type: "hello",
    protocol: PROTOCOL_NAME,
    version: SESSION_PROTOCOL_VERSION,
    role,
    software: SOFTWARE,
    features: role === "sender" ? [FEATURE_RECEIVED, FEATURE_REFUSE] : [FEATURE_RECEIVED, FEATURE_SYMLINKS],
  };
  if (role === "sender") await channel.send(mine);
  const item = await channel.expect();
  if (item.kind !== "control") throw new XferError("protocol", "peer sent data before saying hello");
  const msg = item.msg;
  if (msg.type === "error") throw new XferError("rejected", `peer refused: ${msg.message}`);
  if (msg.type !== "hello") throw new XferError("protocol", `expected hello, peer sent '${msg.type}'`);
  if (msg.version !== SESSION_PROTOCOL_VERSION) {
    const why = `peer speaks xfer session protocol v${msg.version} (${msg.software}), this is v${SESSION_PROTOCOL_VERSION} (${SOFTWARE})`;
    await channel.send({ type: "error", code: "version", message: why }).catch(() => {});
    throw new XferError("version", why);
  }
  if (msg.role === role) throw new XferError("protocol", `peer is also a ${role}`);
  if (role === "receiver") await channel.send(mine);
  return msg.features;
}

/** A peer's error message as the local error to raise. */
export function peerAbort(msg: { code: string; message: string }): XferError {
  // The peer's local failures (its disk, its I/O) are, from here, a failed peer.
  const known = ["integrity", "incomplete", "exists", "unsafe-name", "busy", "version", "rejected", "protocol"];
  const code = (known.includes(msg.code) ? msg.code : "peer-gone") as XferError["code"];
  return new XferError(code, `peer: ${msg.message}`);
}
