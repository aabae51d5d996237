/**
 * Turns session events into output: NDJSON on stdout for scripts (--json), or lines and a
 * progress bar on stderr for people. stdout stays free for `recv --stdout` data.
 */
import { SingleBar } from "cli-progress";
import { createConsola } from "consola";
import type { XferEvent } from "../core/events.ts";
import { HASH_ALGORITHM } from "../core/hashing.ts";
import { formatBytes, formatDuration, formatRate, printable } from "./format.ts";
import { formatEndpoint } from "./parse.ts";

export interface ReporterOptions {
  json: boolean;
  quiet: boolean;
  verbose: boolean;
  /** Where --json events go (stdout unless stdout carries a file). */
  jsonStream?: NodeJS.WritableStream;
}

export type Reporter = (event: XferEvent) => void;

export function createReporter(opts: ReporterOptions): Reporter {
  if (opts.json) return jsonReporter(opts.jsonStream ?? process.stdout);
  const human = humanReporter(opts);
  // Every string in an event may come from the peer (names, messages, addresses): escape them all
  // here, once, rather than trusting each line below to remember. Except the two events of every
  // file, which escape what they print themselves: a copy of each, escaped, for lines printed only
  // with --verbose, was ~4 % of a sender's CPU on a tree of small files (profiled, issue 14).
  return (event) => human(event.event === "file-start" || event.event === "file-done" ? event : escapeStrings(event));
}

/** Lines not yet handed to their stream, for flushJsonEvents. */
const unwritten = new Set<() => void>();
/** Writes handed to a stream whose callback has not come yet. */
const writing = new Set<Promise<void>>();

/**
 * Lines go out at the end of the event loop's current turn, together: a tree of small files makes
 * two events a file, and one write each was ~5 % of the receiver's CPU (issue 14). A script still
 * sees every line as soon as this process gets back to waiting.
 */
function jsonReporter(out: NodeJS.WritableStream): Reporter {
  let lines = "";
  const flush = () => {
    unwritten.delete(flush);
    if (!lines) return;
    const text = lines;
    lines = "";
    const written = new Promise<void>((resolve) => out.write(text, () => resolve()));
    writing.add(written);
    void written.then(() => writing.delete(written));
  };
  return (event) => {
    if (!lines) {
      unwritten.add(flush);
      setImmediate(flush);
    }
    lines += `${jsonLine(event)}\n`;
  };
}

/**
 * Hand every --json line still waiting to its stream, and resolve once the streams took them all:
 * before the process exits (a large last write to a pipe is otherwise cut short by the exit).
 */
export async function flushJsonEvents(): Promise<void> {
  for (const flush of [...unwritten]) flush();
  await Promise.all(writing);
}
// Also on the way out of a crash, best effort: what was reported before it should not be lost.
process.once("exit", () => {
  for (const flush of [...unwritten]) flush();
});

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
  /** Files in the session (offered, or being sent), for "file n/N"; 0 when unknown. */
  let fileCount = 0;
  /** Files of this session found identical on the receiver: told once, in the summary. */
  let skipped = 0;

  return (e) => {
    switch (e.event) {
      case "listening":
        // Every transport reports its own; the "code" event that follows says it once for all.
        log.debug(`listening on ${formatEndpoint(e)} (${e.transport})`);
        break;
      case "code":
        log.info(`receiving into ${printable(e.into)}, on port ${e.port} (${e.transports.join(", ")})`);
        log.info(
          e.addresses.length > 0
            ? `this machine's addresses: ${e.addresses.join(", ")}`
            : "this machine has no network address other than loopback",
        );
        log.info(`on the other machine, type: ${e.command}`);
        break;
      case "rendezvous":
        if (e.waiting) {
          log.info(`waiting at the relay ${e.relay} for the other side (room ${e.room})`);
          log.info(`on the other machine, type: ${e.command}`);
        } else log.debug(`joined room ${e.room} at the relay ${e.relay}; the other side is there`);
        break;
      case "path":
        log.info(
          e.path === "direct"
            ? `direct connection to ${e.via} (handshake ${e.rttMs.toFixed(1)} ms); the relay is no longer used`
            : e.path === "direct-udp"
              ? `direct-udp via ${e.via} (punched UDP, ${e.transport ?? "?"}; handshake ${e.rttMs.toFixed(1)} ms); the relay is no longer used`
              : `relayed via ${e.via} (RTT ${e.rttMs.toFixed(1)} ms to the relay), the other side seen as ${e.peer}`,
        );
        if (e.path === "relayed" && e.udpFailed) log.info(`no direct UDP path: ${e.udpFailed}`);
        break;
      case "waiting":
        if (e.stage === "offer") log.info("waiting for the receiver to accept the offer (it may be asking its user)…");
        else if (e.seconds < 5)
          log.info(
            e.stage === "handshake"
              ? `connected to ${e.to}, waiting for the receiver to answer…`
              : `connecting to ${e.to} over ${e.transport}…`,
          );
        else
          log.warn(
            `no answer from ${e.to} after ${e.seconds} s. Is 'xfer recv' running there? Check the address, and that no firewall or NAT is in the way: the receiver must be reachable on ${e.reachableOn}`,
          );
        break;
      case "authenticated":
        log.debug(`${e.remote} knows the code; the session is encrypted`);
        break;
      case "connected":
        log.debug(`${e.role === "sender" ? "connected to" : "connection from"} ${e.remote} over ${e.transport}`);
        break;
      case "sending":
        fileCount = e.files;
        log.debug(
          `sending ${e.files} file(s)${e.dirs ? ` in ${e.dirs} folder(s)` : ""}, ${e.totalBytes === null ? "size unknown" : formatBytes(e.totalBytes)}, to ${e.to} over ${e.transport}`,
        );
        break;
      case "offer":
        fileCount = e.files;
        log.info(
          `${e.remote} offers ${e.files} file(s)${e.dirs ? ` in ${e.dirs} folder(s)` : ""}, ${e.totalBytes === null ? "size unknown" : formatBytes(e.totalBytes)}`,
        );
        break;
      case "file-start":
        // A file already complete is counted in "already there, skipped" at the end instead.
        if (e.offset > 0 && (e.size === null || e.offset < e.size))
          log.info(`resuming ${printable(e.path)}: ${formatBytes(e.offset)} already there`);
        else if (opts.verbose) log.debug(printable(e.path));
        break;
      case "progress": {
        // No bar before there is something to show: an empty first frame reads as a broken bar.
        if (!tty || (e.bytes === 0 && !bar)) break;
        const values = {
          pct: e.totalBytes ? `${((100 * e.bytes) / e.totalBytes).toFixed(1)}%` : "",
          done: formatBytes(e.bytes),
          size: e.totalBytes === null ? "?" : formatBytes(e.totalBytes),
          rate: formatRate(e.rateBytesPerSec),
          eta_h: e.etaSeconds === null ? "-" : formatDuration(e.etaSeconds),
          file: `${fileCount > 1 && e.fileNumber > 0 ? `file ${e.fileNumber}/${fileCount} ` : ""}${printable(e.file)}`,
        };
        if (!bar) {
          bar = new SingleBar({
            stream: process.stderr,
            format: " {bar} {pct} | {done} of {size} | {rate} | ETA {eta_h} | {file}",
            barsize: 28,
            hideCursor: true,
            clearOnComplete: true,
            etaBuffer: 1,
          });
          bar.start(e.totalBytes ?? 0, e.bytes, values);
        }
        if (e.totalBytes) bar.setTotal(e.totalBytes);
        bar.update(e.bytes, values);
        break;
      }
      case "file-done":
        if (e.skipped) skipped++;
        if (opts.verbose)
          log.debug(
            `${e.skipped ? "already there" : "verified"} ${printable(e.path)} ${HASH_ALGORITHM}:${printable(e.hash.slice(0, 16))}…`,
          );
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
        log.success(doneLine(e, skipped));
        skipped = 0;
        break;
      case "log":
        (e.level === "info" ? log.info : log.debug)(`${e.transport}: ${printable(e.message)}`);
        break;
      case "warning":
        stopBar();
        log.warn(printable(e.message));
        break;
      case "error":
        stopBar();
        log.error(e.message);
        break;
    }
  };
}

/** The last line: what happened, where the files are, and the session's hash to compare. */
function doneLine(e: Extract<XferEvent, { event: "done" }>, skipped: number): string {
  const where = e.savedIn ? `, saved in ${printable(e.savedIn)}` : "";
  if (skipped > 0 && skipped === e.files && !e.failed)
    return `${skipped} file(s) already there, skipped (same content)${where} ${HASH_ALGORITHM}:${e.hash}`;
  const what = e.failed ? `${e.files} file(s) done, ${e.failed} failed` : `${e.files} file(s) verified`;
  const already = skipped > 0 ? ` (${skipped} already there, skipped)` : "";
  return `${what}${already}: ${formatBytes(e.bytes)} in ${formatDuration(e.seconds)} (${formatRate(e.throughputBytesPerSec)})${where} ${HASH_ALGORITHM}:${e.hash}`;
}
