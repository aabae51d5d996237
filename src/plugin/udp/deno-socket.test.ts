/** The Deno.listenDatagram adapter, run under Deno (deno-socket.fixture.ts) on loopback. */
import { describe, expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import type { FixtureResult } from "./deno-socket.fixture.ts";

const DENO = join(import.meta.dir, "../../../node_modules/.bin/deno");
const FIXTURE = join(import.meta.dir, "deno-socket.fixture.ts");

function runFixture(flags: string[]): FixtureResult {
  const env: Record<string, string | undefined> = { ...process.env, NO_COLOR: "1" };
  delete env.XFER_UDP_IMPL;
  const r = spawnSync(DENO, ["run", "-A", ...flags, FIXTURE], { encoding: "utf8", timeout: 15_000, env });
  expect(r.status, r.stderr).toBe(0);
  return JSON.parse(r.stdout.trim().split("\n").at(-1) as string);
}

describe.skipIf(!existsSync(DENO))("Deno.listenDatagram adapter", () => {
  test("with --unstable-net: picked, whole datagrams both ways, emulated connect, backpressure, quiet close", () => {
    const r = runFixture(["--unstable-net"]);
    expect(r.picked).toBe("deno");
    expect(r.forcedNode).toBe("node");
    expect(r.v4?.results).toEqual([true, true, true, true, true, true]);
    expect(r.v4?.firstStillWhole).toBe(true);
    if (r.v6 && "results" in r.v6) expect(r.v6.results).toEqual([true, true, true, true]);
    expect(r.connected).toEqual({ sentToPeer: true, onlyFromPeer: true });
    const bp = r.backpressure!;
    expect(bp.firstTaken).toBeGreaterThan(0);
    expect(bp.firstTaken).toBeLessThan(bp.total);
    expect(bp.taken).toBe(bp.total);
    expect(bp.writable).toBeGreaterThan(0);
    expect(bp.arrived).toBe(true);
    expect(r.closing).toEqual({ afterClose: 0, errors: [] });
    expect(r.unhandled).toEqual([]);
  }, 20_000);

  test("without --unstable-net: node:dgram, and the adapter says what is missing", () => {
    const r = runFixture([]);
    expect(r.picked).toBe("node");
    expect(r.refused).toContain("--unstable-net");
    expect(r.unhandled).toEqual([]);
  }, 20_000);
});
