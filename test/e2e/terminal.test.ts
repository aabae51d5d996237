/**
 * A real transfer with both sides on a pseudo-terminal (script(1), util-linux), as a person sees it:
 * the bars of both sides are read mid-transfer from what reached the terminal.
 */
import { expect, test } from "bun:test";
import { writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { join } from "node:path";
import { CLI_ENTRY, TEST_CODE, tempDir } from "../helpers/cli.ts";

/** Runs the CLI with a pseudo-terminal as stdin, stdout and stderr; resolves with all it printed. */
function onTerminal(args: string[]): { output: Promise<string>; exited: Promise<number> } {
  const command = [process.execPath, CLI_ENTRY, ...args].map((a) => `'${a}'`).join(" ");
  const proc = Bun.spawn(["script", "-q", "-e", "-c", command, "/dev/null"], {
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
    env: { ...process.env, NO_COLOR: "1", XFER_CODE: TEST_CODE, XFER_DISCOVERY: "off", COLUMNS: "160" },
  });
  return { output: new Response(proc.stdout).text(), exited: proc.exited };
}

/** Every frame of a bar: cli-progress redraws one line; each redraw is a frame. */
function frames(output: string): { pct: number; of: string; file: string }[] {
  const out: { pct: number; of: string; file: string }[] = [];
  // biome-ignore lint/suspicious/noControlCharactersInRegex: a frame ends at the terminal's escape sequence
  for (const m of output.matchAll(/(\d+\.\d)% \| [^|]* of ([^|]+?) \| [^|]* \| ETA [^|]* \| ([^\r\n\u001b]*)/g))
    out.push({ pct: Number(m[1]), of: m[2]!.trim(), file: m[3]!.trim() });
  return out;
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((res) => server.listen(0, "127.0.0.1", res));
  const port = (server.address() as { port: number }).port;
  await new Promise((res) => server.close(res));
  return port;
}

test("both bars climb together mid-transfer, with one total, file n/N, and the last line says where", async () => {
  await using src = await tempDir();
  await using dst = await tempDir();
  // Two files of 2 MB at 16 Mbit/s: about two seconds, several bar frames on each side.
  await writeFile(join(src.path, "a.bin"), new Uint8Array(2_000_000).fill(1));
  await writeFile(join(src.path, "b.bin"), new Uint8Array(2_000_000).fill(2));
  const port = await freePort();
  const recv = onTerminal([
    "recv",
    dst.path,
    "--yes",
    "--once",
    "--via",
    "udp-reliable",
    "--listen",
    `127.0.0.1:${port}`,
  ]);
  await Bun.sleep(1500); // its "type:" line is only readable once it exits; give it time to listen
  const send = onTerminal([
    "send",
    "--via",
    "udp-reliable",
    "--rate",
    "16mbit",
    join(src.path, "a.bin"),
    join(src.path, "b.bin"),
    `127.0.0.1:${port}`,
  ]);
  expect(await send.exited).toBe(0);
  expect(await recv.exited).toBe(0);
  const [sent, received] = [await send.output, await recv.output];
  for (const [side, output] of [
    ["sender", sent],
    ["receiver", received],
  ] as const) {
    const bar = frames(output);
    const mid = bar.filter((f) => f.pct > 0 && f.pct < 100);
    expect({ side, midFrames: mid.length >= 3 }).toEqual({ side, midFrames: true });
    expect(new Set(bar.map((f) => f.of))).toEqual(new Set(["4.0 MB"]));
    expect(bar.map((f) => f.pct)).toEqual(bar.map((f) => f.pct).sort((x, y) => x - y));
    // Each side names the file the receiver is writing: the sender's queue runs ahead of it.
    expect(mid.some((f) => f.file.startsWith("file 1/2 a.bin"))).toBe(true);
    expect(mid.some((f) => f.file.startsWith("file 2/2 b.bin"))).toBe(true);
    // No empty first frame.
    expect(output).not.toMatch(/\| {2}of {2}\|/);
  }
  expect(received).toContain(`saved in ${dst.path}`);
  expect(received.match(/on the other machine, type:/g)?.length).toBe(1);
}, 30_000);
