/** TCP for transport plugins, one port for all: `import { listenTcp, dialTcp } from "xfer/plugin/tcp"`. */
export {
  MAX_PREAMBLE_BYTES,
  PREAMBLE_TIMEOUT_MS,
  PREAMBLE_VERSION,
  TAG_PATTERN,
} from "./preamble.ts";
export { MAX_ROUTING } from "./routing.ts";
export {
  dialTcp,
  listenTcp,
  type TcpDialOptions,
  type TcpImpl,
  type TcpListenOptions,
} from "./server.ts";
