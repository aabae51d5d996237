/**
 * Turns session events into output: NDJSON on stdout for scripts (--json), or lines and a
 * progress bar on stderr for people. stdout stays free for `recv --stdout` data.
 */
import { SingleBar } from "cli-progress";
import { createConsola } from "consola";
import type { XferEvent } from "../core/events.ts";
import { formatBytes, formatDuration, formatRate, printable } from "./format.ts";

export interface ReporterOptions {
  json: boolean;
  quiet: boolean;
  verbose: boolean;
}

export type Reporter = (event: XferEvent) => void;

export function createReporter(opts: ReporterOptions): Reporter {
  if (opts.json) return (event) => process.stdout.write(`${jsonLine(event)}\n`);
  const human = humanReporter(opts);
  // Every string in an event may come from the peer (names, messages, addresses): escape them all
  // here, once, rather than trusting each line below to remember.
  return (event) => human(escapeStrings(event));
}

/** NDJSON with the characters JSON leaves raw (C1, bidi, invisible) escaped too: same value, safe on a terminal. */
export function jsonLine(event: XferEvent): string {
  return JSON.stringify(event).replace(UNSAFE_IN_JSON, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}
const UNSAFE_IN_JSON = /[\u007f-\u009f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]/g;

function escapeStrings(event: XferEvent): XferEvent {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(event))
    out[k] =
      typeof v === "string"
        ? printable(v)
        : Array.isArray(v)
          ? v.map((x) => (typeof x === "string" ? printable(x) : x))
          : v;
  return out as XferEvent;
}

function humanReporter(opts: ReporterOptions): Reporter {
  const log = createConsola({
    stdout: process.stderr,
    stderr: process.stderr,
    level: opts.quiet ? 1 : opts.verbose ? 4 : 3,
    formatOptions: { date: false, colors: !process.env.NO_COLOR && process.stderr.isTTY },
  });
  const tty = Boolean(process.stderr.isTTY) && !opts.quiet;
  let bar: SingleBar | null = null;
  const stopBar = () => {
    bar?.stop();
    bar = null;
  };

  return (e) => {
    switch (e.event) {
      case "listening":
        log.info(`listening on ${e.host.includes(":") ? `[${e.host}]` : e.host}:${e.port} (${e.transport})`);
        break;
      case "code":
        log.info(`code: ${e.code}`);
        log.info(`on the other machine: ${e.command}`);
        break;
      case "authenticated":
        log.debug(`${e.remote} knows the code; the session is encrypted`);
        break;
      case "connected":
        log.debug(`${e.role === "sender" ? "connected to" : "connection from"} ${e.remote} over ${e.transport}`);
        break;
      case "offer":
        log.info(
          `${e.remote} offers ${e.files} file(s)${e.dirs ? ` in ${e.dirs} folder(s)` : ""}, ${e.totalBytes === null ? "size unknown" : formatBytes(e.totalBytes)}`,
        );
        break;
      case "file-start":
        if (e.offset > 0) log.info(`resuming ${e.path} at ${formatBytes(e.offset)}`);
        else log.debug(`${e.path}`);
        break;
      case "progress":
        if (!tty) break;
        if (!bar) {
          bar = new SingleBar({
            stream: process.stderr,
            format: " {bar} {pct} | {done} of {size} | {rate} | ETA {eta_h} | {file}",
            barsize: 28,
            hideCursor: true,
            clearOnComplete: true,
            etaBuffer: 1,
          });
          bar.start(e.totalBytes ?? 0, 0, { pct: "", done: "", size: "", rate: "", eta_h: "", file: "" });
        }
        if (e.totalBytes) bar.setTotal(e.totalBytes);
        bar.update(e.bytes, {
          pct: e.totalBytes ? `${((100 * e.bytes) / e.totalBytes).toFixed(1)}%` : "",
          done: formatBytes(e.bytes),
          size: e.totalBytes === null ? "?" : formatBytes(e.totalBytes),
          rate: formatRate(e.rateBytesPerSec),
          eta_h: e.etaSeconds === null ? "-" : formatDuration(e.etaSeconds),
          file: e.file,
        });
        break;
      case "file-done":
        log.debug(`${e.skipped ? "already there" : "verified"} ${e.path} blake3:${e.hash.slice(0, 16)}…`);
        break;
      case "file-failed":
        stopBar();
        log.error(`${e.path}: ${e.message}`);
        break;
      case "stats":
        log.debug(
          `stats ${Object.entries(e)
            .map(([k, v]) => `${k}=${v}`)
            .join(" ")}`,
        );
        break;
      case "done":
        stopBar();
        log.success(
          `${e.failed ? `${e.files} file(s) done, ${e.failed} failed` : `${e.files} file(s) verified`}: ${formatBytes(e.bytes)} in ${formatDuration(e.seconds)} (${formatRate(e.throughputBytesPerSec)}) blake3:${e.hash}`,
        );
        break;
      case "warning":
        stopBar();
        log.warn(e.message);
        break;
      case "error":
        stopBar();
        log.error(e.message);
        break;
    }
  };
}
