/**
 * The meeting's steps, marked as they happen so that a benchmark can say where the time between the
 * code and the first file byte goes. Nothing here changes what the meeting does.
 */
export type MeetingStep =
  | "relay-connected"
  | "joined"
  | "paired"
  | "authenticated"
  | "reflected"
  | "paths"
  | "probe-heard"
  | "direct-connected"
  | "direct-authenticated"
  | "direct-udp-connected"
  | "direct-udp-authenticated"
  | "chosen";

export type MeetingTrace = (step: MeetingStep) => void;
