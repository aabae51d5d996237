/**
 * The receiver's cost of a huge offer: `xfer recv` (the real CLI) is offered N entries (N/1000
 * folders of 1000 files, names as short as possible) by a scripted sender that pages the offer as
 * `xfer send` does (4 pages ahead of the files it streams). The files are empty and already in the
 * receiving folder (made once, kept under $XFER_BENCH_DIR), so each one costs the receiver only its
 * "identical, skipped" check and verdict: no file is written, and what is left is the offer's cost
 * plus that per-file minimum. Prints the receiver's CPU seconds and peak RSS when the last page is
 * answered (the offer handled) and at the end of the session.
 * `--offer-only`: into an empty folder, every page at once and no file at all, stopping at the last page's answer: the
 * offer's own cost. A receiver holds at most MAX_PAGES_HELD pages whose files have not come, so this
 * needs that limit lifted in the receiver measured (docs/BENCHMARKS.md says how).
 * Usage: bun bench/huge-offer.ts [entries=1000000] [--offer-only]
 */
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { encodeControlFrame, FrameDecoder } from "../src/core/protocol/frames.ts";
import { MAX_PAGE_ENTRIES, SESSION_PROTOCOL_VERSION } from "../src/core/protocol/messages.ts";
import { CLI_ENTRY, TEST_CODE } from "../test/helpers/cli.ts";
import { sealedConnect } from "../test/helpers/sealed-client.ts";

const n = Number(process.argv.slice(2).find((a) => !a.startsWith("--")) ?? 1_000_000);
const offerOnly = process.argv.includes("--offer-only");
const pages = Math.ceil(n / MAX_PAGE_ENTRIES);
const PAGES_AHEAD = offerOnly ? pages + 1 : 4;
/** BLAKE3 of no bytes. */
const EMPTY_HASH = "af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262";

// Offer only: an empty folder, every file new there (as the first version of this bench measured).
const base = process.env.XFER_BENCH_DIR ?? tmpdir();
const dir = offerOnly ? mkdtempSync(join(base, "xfer-offer-")) : join(base, `xfer-huge-offer-${n}`);
const entries: { path: string; kind: "file" | "dir"; size: number; mode: number; mtimeMs: number }[] = [];
for (let d = 0; d < Math.ceil(n / 1000); d++) {
  entries.push({ path: `${d}`, kind: "dir", size: 0, mode: 0o755, mtimeMs: 0 });
  for (let f = 0; f < 999 && entries.length < n; f++)
    entries.push({ path: `${d}/${f}`, kind: "file", size: 0, mode: 0o644, mtimeMs: 0 });
}
if (!offerOnly && !existsSync(join(dir, "done"))) {
  console.log(`making ${n} entries under ${dir} (once)…`);
  for (const e of entries)
    if (e.kind === "dir") mkdirSync(join(dir, e.path), { recursive: true });
    else writeFileSync(join(dir, e.path), "");
  writeFileSync(join(dir, "done"), "");
}
const files = entries.filter((e) => e.kind === "file").length;

// Its events (two JSON lines a file) go to /dev/null: read through a pipe, they cost this script more than the receiver.
const port = 20_000 + (process.pid % 20_000);
const proc = spawn(process.execPath, [CLI_ENTRY, "recv", dir, "--listen", `127.0.0.1:${port}`, "--json", "--yes"], {
  stdio: ["ignore", "ignore", "inherit"],
  env: { ...process.env, XFER_CODE: TEST_CODE, XFER_DISCOVERY: "off" },
});
// Listening once a plain connection is taken (the receiver drops it and serves on).
for (let up = false; !up; ) {
  await new Promise((r) => setTimeout(r, 100));
  up = await new Promise<boolean>((res) => {
    const s = connect(port, "127.0.0.1", () => {
      s.destroy();
      res(true);
    });
    s.on("error", () => res(false));
  });
}

const usage = () => {
  const f = readFileSync(`/proc/${proc.pid}/stat`, "utf8").split(") ")[1]!.split(" ");
  const hwm = /VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${proc.pid}/status`, "utf8"))?.[1];
  return { cpu: (Number(f[11]) + Number(f[12])) / 100, rssMB: Number(hwm) / 1024 };
};
const conn = await sealedConnect(port);
const send = (msg: object) => conn.write(encodeControlFrame(JSON.stringify(msg)));
await send({
  type: "hello",
  protocol: "xfer",
  version: SESSION_PROTOCOL_VERSION,
  role: "sender",
  software: "bench",
  features: ["received", "refuse-entries"],
});
const decoder = new FrameDecoder();
const it = conn.readable[Symbol.asyncIterator]();
const inbox: { type: string; [k: string]: unknown }[] = [];
const nextControl = async () => {
  for (;;) {
    const queued = inbox.shift();
    if (queued) return queued;
    const chunk = await it.next();
    if (chunk.done) throw new Error("receiver closed");
    for (const p of decoder.push(chunk.value))
      if (p.kind === "control") {
        const msg = JSON.parse(p.json);
        if (msg.type !== "ping" && msg.type !== "received") inbox.push(msg);
      }
  }
};
await nextControl();
const before = usage();
function show(u: { cpu: number; rssMB: number; s: number }) {
  return `after ${u.s.toFixed(1)} s: receiver CPU ${(u.cpu - before.cpu).toFixed(1)} s, peak RSS ${u.rssMB.toFixed(0)} MB`;
}
const t0 = performance.now();
await send({ type: "offer-head", entries: entries.length, files, bytes: 0 });
let sent = 0;
const sendPage = async () => {
  if (sent < pages) {
    const first = sent * MAX_PAGE_ENTRIES;
    await send({ type: "offer-page", first, entries: entries.slice(first, first + MAX_PAGE_ENTRIES) });
  } else if (sent === pages) await send({ type: "offer-end" });
  sent++;
};
// Offer only: every page from a task of its own, so that the answers are read while pages go out.
const writing = (async () => {
  for (let i = 0; i < PAGES_AHEAD; i++) await sendPage();
})();
if (!offerOnly) await writing;
let verdicts = 0;
let expected = 0;
let offerDone: { cpu: number; rssMB: number; s: number } | null = null;
for (let answered = 0; answered < pages; answered++) {
  let msg = await nextControl();
  while (msg.type === "file-ok") {
    verdicts++;
    msg = await nextControl();
  }
  if (msg.type !== "accept") throw new Error(`page ${answered}: ${JSON.stringify(msg).slice(0, 300)}`);
  if (answered === pages - 1) offerDone = { ...usage(), s: (performance.now() - t0) / 1000 };
  if (offerOnly) continue;
  await sendPage();
  const batch: Uint8Array[] = [];
  for (const f of msg.files as { index: number; offset: number; existing: boolean }[]) {
    if (!f.existing) throw new Error(`entry #${f.index} not taken as the identical file already there`);
    batch.push(encodeControlFrame(JSON.stringify({ type: "file", index: f.index, offset: 0 })));
    batch.push(encodeControlFrame(JSON.stringify({ type: "file-end", index: f.index, size: 0, hash: EMPTY_HASH })));
    expected++;
  }
  await conn.write(Buffer.concat(batch));
}
if (offerOnly) {
  console.log(`offer: ${entries.length} entries in ${pages} pages, ${files} files, no file sent`);
  console.log(`last page answered ${show(offerDone!)}`);
  conn.destroy();
  proc.kill();
  rmSync(dir, { recursive: true, force: true });
  process.exit(0);
}
await send({ type: "done" });
for (let msg = await nextControl(); msg.type !== "summary"; msg = await nextControl())
  if (msg.type === "file-ok") verdicts++;
  else throw new Error(JSON.stringify(msg).slice(0, 300));
const end = { ...usage(), s: (performance.now() - t0) / 1000 };
if (verdicts !== expected) throw new Error(`${verdicts} verdicts for ${expected} files`);
console.log(`offer: ${entries.length} entries in ${pages} pages, ${files} files (identical, already there)`);
console.log(`last page answered ${show(offerDone!)}`);
console.log(`session done (${verdicts} verdicts) ${show(end)}`);
conn.destroy();
proc.kill();
