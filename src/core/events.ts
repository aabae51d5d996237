/** What a session reports. The CLI prints these as NDJSON (--json) or for people; tests read them. */

export type XferEvent =
  | { event: "listening"; transport: string; host: string; port: number }
  | { event: "connected"; transport: string; remote: string; role: "sender" | "receiver" }
  /** The receiver's code, and what to type on the other machine (printed once, when it listens). */
  | { event: "code"; code: string; generated: boolean; command: string }
  /** The peer proved it knows the code; everything after this is sealed. */
  | { event: "authenticated"; remote: string }
  | { event: "offer"; remote: string; files: number; dirs: number; totalBytes: number | null; names: string[] }
  | { event: "file-start"; index: number; path: string; size: number | null; offset: number }
  | {
      event: "progress";
      bytes: number;
      totalBytes: number | null;
      rateBytesPerSec: number;
      etaSeconds: number | null;
      file: string;
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
      /** The receiver's folder (absolute), where the files were saved; absent on the sender. */
      savedTo?: string;
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
  | { event: "error"; code: string; message: string; exitCode: number };

export type EventSink = (event: XferEvent) => void;
