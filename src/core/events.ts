/** What a session reports. The CLI prints these as NDJSON (--json) or for people; tests read them. */

export type XferEvent =
  | { event: "listening"; transport: string; host: string; port: number }
  | { event: "connected"; transport: string; remote: string; role: "sender" | "receiver" }
  /** The receiver's code, and what to type on the other machine (printed once, when it listens). */
  | {
      event: "code";
      code: string;
      generated: boolean;
      /** What to type on the other machine, with this machine's first usable address. */
      command: string;
      /** The port every transport listens on. */
      port: number;
      /** This machine's addresses a sender can use (non-loopback; IPv6 when listening on "::"). */
      addresses: string[];
      /** The transports listening. */
      transports: string[];
      /** The folder files are saved in, or "standard output". */
      into: string;
    }
  /** This side joined its room at a relay: the code, and what to type on the other machine if it waits. */
  | {
      event: "rendezvous";
      /** The relay, host:port. */
      relay: string;
      /** The room: the code's leading number (all the relay learns of the code). */
      room: string;
      code: string;
      generated: boolean;
      /** True when the other side is not there yet. */
      waiting: boolean;
      /** What to type on the other machine. */
      command: string;
      /** This side's address as the relay saw it. */
      seenAs: string;
    }
  /** Which path carries the session, once both sides are on it. */
  | {
      event: "path";
      /**
       * "relayed": through the relay; "direct": over a TCP connection between the two sides;
       * "direct-udp": over a UDP hole punched between them (docs/PROTOCOL.md §4.2).
       */
      path: "relayed" | "direct" | "direct-udp";
      /** The relay, host:port; or the direct connection's other end. */
      via: string;
      /** Relayed: the round trip to the relay (its answer to the join); direct: the direct handshake's time (about one round trip). In ms. */
      rttMs: number;
      /** The other side's address: as the relay saw it, or the direct connection's. */
      peer: string;
      /** direct-udp: the transport that runs over the punched path (udp-reliable). */
      transport?: string;
      /** Relayed although a punched UDP path was offered: why it was not used. */
      udpFailed?: string;
    }
  /**
   * The sender has no answer yet, `seconds` after it started: while the transport dials, while the
   * receiver has not completed the handshake, or while it has not accepted the offer.
   */
  | {
      event: "waiting";
      to: string;
      transport: string;
      seconds: number;
      stage: "dialing" | "handshake" | "offer";
      /** What must be reachable on the receiver, e.g. "TCP port 7878". */
      reachableOn: string;
    }
  /** What the sender is about to offer, before it connects. */
  | {
      event: "sending";
      files: number;
      dirs: number;
      totalBytes: number | null;
      to: string;
      transport: string;
    }
  /** The peer proved it knows the code; everything after this is sealed. */
  | { event: "authenticated"; remote: string }
  | { event: "offer"; remote: string; files: number; dirs: number; totalBytes: number | null; names: string[] }
  | { event: "file-start"; index: number; path: string; size: number | null; offset: number }
  | {
      event: "progress";
      /** What the receiver has: `alreadyThere` plus this session's bytes (acknowledged, on a sender whose receiver says). */
      bytes: number;
      totalBytes: number | null;
      /** Bytes the receiver had before this session (resumed prefixes, identical files). */
      alreadyThere: number;
      rateBytesPerSec: number;
      etaSeconds: number | null;
      /** The file at the position shown. */
      file: string;
      /** Its place among the files of the session, from 1 (0 before the first). */
      fileNumber: number;
    }
  | {
      event: "file-done";
      index: number;
      path: string;
      bytes: number;
      hash: string;
      resumedFrom: number;
      skipped: boolean;
    }
  | { event: "file-failed"; index: number; path: string; code: string; message: string }
  | {
      event: "done";
      files: number;
      failed: number;
      bytes: number;
      seconds: number;
      throughputBytesPerSec: number;
      hash: string;
      /** Receiver only: the folder the files were saved in, or "standard output". */
      savedIn?: string;
    }
  | { event: "stats"; transport: string; [key: string]: number | string }
  | {
      /** What the network did to a datagram session's data (udp-raw): exact counts and missing ranges. */
      event: "loss-report";
      expected: number;
      received: number;
      lost: number;
      /** Lost datagrams rebuilt from FEC parity. */
      recovered: number;
      duplicated: number;
      reordered: number;
      corrupt: number;
      files: { path: string; status: string; missing: [number, number][]; missingFile?: string }[];
    }
  | { event: "warning"; message: string }
  /** A transport's ctx.log.debug/info (warn is a "warning" event): shown with --verbose. */
  | { event: "log"; level: "debug" | "info"; transport: string; message: string }
  | { event: "error"; code: string; message: string; exitCode: number };

export type EventSink = (event: XferEvent) => void;
