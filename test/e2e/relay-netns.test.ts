/**
 * Two peers, each behind its own NAT router (nftables masquerade), that cannot reach each other
 * directly: their direct attempts fail and the relay in the "internet" namespace carries the
 * transfer, byte for byte, and says it did. A peer with a public address and one behind a NAT: the
 * NATed one's direct connection out reaches the other, and the session moves off the relay. Root only
 * (the namespaces are built here): elsewhere each case is reported as skipped, with why.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { type Running, run, tempDir } from "../helpers/cli.ts";
import { buildLan, buildNetLab, type NetLab, netnsUnavailable } from "../helpers/netns.ts";
import { randomBytes } from "../helpers/tools.ts";

const unavailable = netnsUnavailable();
if (unavailable) console.warn(`relay-netns: skipped: ${unavailable}`);

const started: Running[] = [];
let lab: NetLab | null = null;
let lan: ReturnType<typeof buildLan> | null = null;
afterAll(() => {
  for (const r of started) r.proc.kill("SIGKILL");
  lab?.destroy();
  lan?.destroy();
});

function inside(ns: string, args: string[], env: Record<string, string> = {}) {
  const r = run(args, {
    runtime: ["ip", "netns", "exec", ns, process.execPath],
    env: { XFER_CODE: "", XFER_DISCOVERY: "", ...env },
  });
  started.push(r);
  return r;
}

describe("relay between two NATed homes", () => {
  test.skipIf(unavailable !== null)(
    `a relayed transfer succeeds where no direct path exists (direct attempts fail, relay fallback)${unavailable ? ` (skipped: ${unavailable})` : ""}`,
    async () => {
      lab = buildNetLab(`xr${process.pid % 100000}`, 2);
      const [home1, home2] = lab.homes as [NetLab["homes"][0], NetLab["homes"][0]];
      await using src = await tempDir();
      await using dst = await tempDir();
      const data = randomBytes(4_000_000, 1919);
      await writeFile(join(src.path, "across.bin"), data);

      const relay = inside(lab.internet, ["relay", "--listen", "0.0.0.0:7879", "--json"]);
      await relay.waitFor((e) => e.event === "relay-listening");
      const relayAt = `${lab.relayAddress}:7879`;

      const recv = inside(home1.host, ["recv", dst.path, "--relay", relayAt, "--json"]);
      const shown = await recv.waitFor((e) => e.event === "rendezvous" && e.waiting === true);
      // The relay saw the router's public address: the receiver is behind a NAT.
      expect(shown.seenAs as string).toStartWith(`${home1.publicAddress}:`);

      // No direct way from one home to the other: a direct send fails (the packets go nowhere).
      const direct = inside(home2.host, [
        "send",
        "--json",
        "--code",
        shown.code as string,
        "--transport-opt",
        "connectTimeoutMs=1500",
        join(src.path, "across.bin"),
        `${home1.address}:7878`,
      ]);
      expect(await direct.exited).toBe(3);

      const send = inside(home2.host, [
        "send",
        "--json",
        "--code",
        shown.code as string,
        "--relay",
        relayAt,
        join(src.path, "across.bin"),
      ]);
      expect(await send.exited, send.stderr()).toBe(0);
      expect(await recv.exited, recv.stderr()).toBe(0);
      expect(Buffer.compare(await readFile(join(dst.path, "across.bin")), data)).toBe(0);
      for (const [events, peer] of [
        [recv.events, home2.publicAddress],
        [send.events, home1.publicAddress],
      ] as const) {
        const path = events.find((e) => e.event === "path");
        expect(path).toMatchObject({ path: "relayed", via: relayAt });
        expect(path!.peer as string).toStartWith(`${peer}:`);
      }
    },
    60_000,
  );

  test.skipIf(unavailable !== null)(
    `a public sender and a NATed receiver: the receiver's direct connection out carries the session${unavailable ? ` (skipped: ${unavailable})` : ""}`,
    async () => {
      lab ??= buildNetLab(`xr${process.pid % 100000}`, 2);
      const home1 = lab.homes[0]!;
      await using src = await tempDir();
      await using dst = await tempDir();
      const data = randomBytes(3_000_000, 2020);
      await writeFile(join(src.path, "out.bin"), data);
      const relay = inside(lab.internet, ["relay", "--listen", "0.0.0.0:7880", "--json"]);
      await relay.waitFor((e) => e.event === "relay-listening");
      const relayAt = `${lab.relayAddress}:7880`;
      const recv = inside(home1.host, ["recv", dst.path, "--relay", relayAt, "--json"]);
      const shown = await recv.waitFor((e) => e.event === "rendezvous" && e.waiting === true);
      const send = inside(lab.internet, [
        "send",
        "--json",
        "--code",
        shown.code as string,
        "--relay",
        relayAt,
        join(src.path, "out.bin"),
      ]);
      expect(await send.exited, send.stderr()).toBe(0);
      expect(await recv.exited, recv.stderr()).toBe(0);
      expect(Buffer.compare(await readFile(join(dst.path, "out.bin")), data)).toBe(0);
      // The sender saw the connection arrive from the receiver's router: it was dialed from behind the NAT.
      expect(send.events.find((e) => e.event === "path")).toMatchObject({ path: "direct" });
      expect(send.events.find((e) => e.event === "path")!.via as string).toStartWith(`${home1.publicAddress}:`);
      expect(recv.events.find((e) => e.event === "path")).toMatchObject({ path: "direct" });
      const room = await relay.waitFor((e) => e.event === "relay-room" && e.outcome === "closed");
      expect(room.bytes as number).toBeLessThan(10_000);
    },
    60_000,
  );
});

describe("two machines on one LAN, no relay", () => {
  test.skipIf(unavailable !== null)(
    `xfer send with no destination finds the receiver by broadcast and sends directly; with nobody there, exit 2${unavailable ? ` (skipped: ${unavailable})` : ""}`,
    async () => {
      lan = buildLan(`xl${process.pid % 100000}`);
      const [a, b] = lan.hosts;
      await using src = await tempDir();
      await using dst = await tempDir();
      const data = randomBytes(1_000_000, 77);
      await writeFile(join(src.path, "lan.bin"), data);

      // Nobody on the LAN yet: the sender asks, hears nothing, and says what to do.
      const alone = inside(b, ["send", "--json", "--code", "31-lan-only-code-here", join(src.path, "lan.bin")]);
      expect(await alone.exited).toBe(2);
      expect(alone.events.at(-1)!.message as string).toMatch(/local network.*--relay/);

      const recv = inside(a, ["recv", dst.path, "--json", "--yes"]);
      const shown = await recv.waitFor((e) => e.event === "code");
      const send = inside(b, ["send", "--json", "--code", shown.code as string, join(src.path, "lan.bin")]);
      expect(await send.exited, send.stderr()).toBe(0);
      expect(await recv.exited, recv.stderr()).toBe(0);
      expect(Buffer.compare(await readFile(join(dst.path, "lan.bin")), data)).toBe(0);
      expect(send.events.find((e) => e.event === "path")).toMatchObject({
        path: "direct",
        via: `${lan.addresses[0]}:${shown.port}`,
      });
    },
    60_000,
  );
});
