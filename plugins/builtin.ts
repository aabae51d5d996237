/**
 * The transports shipped inside xfer. Each is an ordinary plugin module; only the CLI's
 * composition root reads this list, the core never names a transport.
 */
import type { AnyTransport } from "../src/plugin/api.ts";
import tcpStream from "./tcp-stream/index.ts";
import udpRaw from "./udp-raw/index.ts";
import udpReliable from "./udp-reliable/index.ts";

export const BUILTIN_TRANSPORTS: readonly AnyTransport[] = [tcpStream, udpReliable, udpRaw];
