/** A sent packet as the packer records it (ack-eliciting, in flight, no frames), for the tests of what reads it. */
import type { SentPacket } from "./sent-packets.ts";

export function sentPacket(pn: number, sentAt: number, over: Partial<SentPacket> = {}): SentPacket {
  return {
    pn,
    sentAt,
    bytes: 1000,
    ackEliciting: true,
    inFlight: true,
    stream: [],
    maxData: false,
    deliveredAtSend: 0,
    deliveredTimeAtSend: 0,
    firstSentTimeAtSend: 0,
    appLimitedAtSend: false,
    state: "sent",
    ackedRunLow: 0,
    ...over,
  };
}
