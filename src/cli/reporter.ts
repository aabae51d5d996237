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
  if (opts.json) return (event) => process.stdout.write(`${JSON.stringify(event)}\n`);
  return humanReporter(opts);
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
  /** Files of this session found identical on the receiver: told once, in the summary. */
  let alreadyThere = 0;
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
          `${printable(e.remote)} offers ${e.files} file(s)${e.dirs ? ` in ${e.dirs} folder(s)` : ""}, ${e.totalBytes === null ? "size unknown" : formatBytes(e.totalBytes)}`,
        );
        break;
      case "file-start":
        // offset = size: an existing file checked for identity, not a resume (counted at the end).
        if (e.offset > 0 && e.offset !== e.size) log.info(`resuming ${printable(e.path)} at ${formatBytes(e.offset)}`);
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
        if (e.skipped) alreadyThere++;
        log.debug(`${e.skipped ? "already there" : "verified"} ${e.path} blake3:${e.hash.slice(0, 16)}…`);
        break;
      case "file-failed":
        stopBar();
        log.error(`${printable(e.path)}: ${printable(e.message)}`);
        break;
      case "stats":
        log.debug(
          `stats ${Object.entries(e)
            .map(([k, v]) => `${k}=${v}`)
            .join(" ")}`,
        );
        break;
      case "done": {
        stopBar();
        const verified = e.files - alreadyThere;
        const counts = [
          verified > 0 || alreadyThere === 0 ? `${verified} file(s) verified` : "",
          alreadyThere > 0 ? `${alreadyThere} file(s) already there` : "",
          e.failed ? `${e.failed} failed` : "",
        ].filter(Boolean);
        const moved =
          e.bytes > 0 || verified > 0
            ? `: ${formatBytes(e.bytes)} in ${formatDuration(e.seconds)} (${formatRate(e.throughputBytesPerSec)})`
            : "";
        const where = e.savedTo === undefined ? "" : `, saved in ${printable(e.savedTo)}`;
        log.success(`${counts.join(", ")}${moved}${where} blake3:${e.hash}`);
        alreadyThere = 0;
        break;
      }
      case "warning":
        stopBar();
        log.warn(e.message);
        break;
      case "error":
        stopBar();
        log.error(printable(e.message));
        break;
    }
  };
}
