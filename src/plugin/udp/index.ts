/** UDP for transport plugins: `import { bindUdp } from "xfer/plugin/udp"`. */

export { FixedRatePacer, Pacer, type PacerShape } from "./pacer.ts";
export {
  type BindOptions,
  bindUdp,
  formatPeer,
  resolvePeer,
  type UdpConsumer,
  type UdpPeer,
  type UdpPort,
  wildcardFor,
} from "./port.ts";
export { isLoopback, UDP_RECV_BUFFER_BYTES, udpSendsFlushed } from "./socket.ts";
export {
  dialUdpPort,
  listenUdpTransport,
  type UdpDialSpec,
  type UdpListening,
  type UdpListenSpec,
} from "./transport.ts";
