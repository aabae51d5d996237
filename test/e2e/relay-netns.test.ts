/**
 * Two peers, each behind its own NAT router (nftables masquerade), that cannot reach each other by TCP:
 * they punch a UDP hole through both NATs and udp-reliable carries the file directly (the relay
 * only met them), and that path survives the relay being killed; with UDP dropped at one router the
 * relay carries it over TCP and says why. A peer with a public address and one behind a NAT: the
 * NATed one's direct TCP connection out reaches the other. Each transfer is verified byte for byte and
 * its reported path checked. Root only (the namespaces are built here): elsewhere each case is
 * reported as skipped, with why.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { DENO, type Running, run, tempDir } from "../helpers/cli.ts";
import { buildLan, buildNetLab, type NetLab, netnsUnavailable, sh } from "../helpers/netns.ts";
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

/** `runtime`: the command that runs a .ts file (this Bun, or DENO). */
function inside(ns: string, args: string[], env: Record<string, string> = {}, runtime = [process.execPath]) {
  const r = run(args, {
    runtime: ["ip", "netns", "exec", ns, ...runtime],
    env: { XFER_CODE: "", XFER_DISCOVERY: "", ...env },
  });
  started.push(r);
  return r;
}

/** `xfer send --json [extra] --code CODE --relay RELAY FILE` from inside namespace `ns`. */
function sendByCode(ns: string, code: string, relayAt: string, file: string, extra: string[] = [], runtime?: string[]) {
  return inside(ns, ["send", "--json", ...extra, "--code", code, "--relay", relayAt, file], {}, runtime);
}

/** nftables rules into namespace `ns` (a firewall a test adds and takes away again). */
function nft(ns: string, rules: string): void {
  sh(["ip", "netns", "exec", ns, "nft", "-f", "-"], rules);
}

/** A relay in the internet on `port`, and a receiver in `host` waiting there with a code it made up. */
async function relayAndWaitingReceiver(port: number, host: string, dir: string, runtime?: string[]) {
  const relay = inside(lab!.internet, ["relay", "--listen", `0.0.0.0:${port}`, "--json"]);
  await relay.waitFor((e) => e.event === "relay-listening");
  const relayAt = `${lab!.relayAddress}:${port}`;
  const recv = inside(host, ["recv", dir, "--relay", relayAt, "--json"], {}, runtime);
  const shown = await recv.waitFor((e) => e.event === "rendezvous" && e.waiting === true);
  return { relay, relayAt, recv, shown };
}

describe("relay between two NATed homes", () => {
  test.skipIf(unavailable !== null)(
    `both NATed: direct TCP cannot work, so the default punches UDP and udp-reliable carries the file directly${unavailable ? ` (skipped: ${unavailable})` : ""}`,
    async () => {
      lab = buildNetLab(`xr${process.pid % 100000}`, 2);
      const [home1, home2] = lab.homes as [NetLab["homes"][0], NetLab["homes"][0]];
      await using src = await tempDir();
      await using dst = await tempDir();
      const data = randomBytes(4_000_000, 1919);
      await writeFile(join(src.path, "across.bin"), data);

      const { relay, relayAt, recv, shown } = await relayAndWaitingReceiver(7879, home1.host, dst.path);
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

      const send = sendByCode(home2.host, shown.code as string, relayAt, join(src.path, "across.bin"));
      expect(await send.exited, send.stderr()).toBe(0);
      expect(await recv.exited, recv.stderr()).toBe(0);
      expect(Buffer.compare(await readFile(join(dst.path, "across.bin")), data)).toBe(0);
      // Each side reached the other's router: the hole punched through both NATs.
      for (const [events, peer] of [
        [recv.events, home2.publicAddress],
        [send.events, home1.publicAddress],
      ] as const) {
        const path = events.find((e) => e.event === "path");
        expect(path).toMatchObject({ path: "direct-udp", transport: "udp-reliable" });
        expect(path!.via as string).toStartWith(`${peer}:`);
      }
      // The relay carried the handshake and the path step only.
      const room = await relay.waitFor((e) => e.event === "relay-room" && e.outcome === "closed");
      expect(room.bytes as number).toBeLessThan(10_000);
    },
    60_000,
  );

  test.skipIf(unavailable !== null)(
    `UDP blocked at one home: --via udp-reliable falls back to the relay over TCP, and says why${unavailable ? ` (skipped: ${unavailable})` : ""}`,
    async () => {
      lab ??= buildNetLab(`xr${process.pid % 100000}`, 2);
      const [home1, home2] = lab.homes as [NetLab["homes"][0], NetLab["homes"][0]];
      const router2 = home2.host.replace(/-h2$/, "-r2");
      nft(
        router2,
        "table inet block {\n chain forward_udp {\n  type filter hook forward priority 0;\n  meta l4proto udp drop\n }\n}\n",
      );
      try {
        await using src = await tempDir();
        await using dst = await tempDir();
        const data = randomBytes(2_000_000, 4242);
        await writeFile(join(src.path, "blocked.bin"), data);
        const { relay, relayAt, recv, shown } = await relayAndWaitingReceiver(7881, home1.host, dst.path);
        const send = sendByCode(home2.host, shown.code as string, relayAt, join(src.path, "blocked.bin"), [
          "--via",
          "udp-reliable",
        ]);
        expect(await send.exited, send.stderr()).toBe(0);
        expect(await recv.exited, recv.stderr()).toBe(0);
        expect(Buffer.compare(await readFile(join(dst.path, "blocked.bin")), data)).toBe(0);
        const path = send.events.find((e) => e.event === "path");
        expect(path).toMatchObject({ path: "relayed", via: relayAt });
        expect(path!.udpFailed as string).toMatch(/no probe/);
        expect(recv.events.find((e) => e.event === "path")).toMatchObject({ path: "relayed" });
        const room = await relay.waitFor((e) => e.event === "relay-room" && e.outcome === "closed");
        expect(room.bytes as number).toBeGreaterThan(data.byteLength);
      } finally {
        nft(router2, "delete table inet block\n");
      }
    },
    60_000,
  );

  const noDeno = unavailable ?? (existsSync(DENO[0] as string) ? null : "no deno in node_modules/.bin");
  test.skipIf(noDeno !== null)(
    `both sides on Deno (--unstable-net), both NATed: they punch the hole too, udp-reliable carries the file directly${noDeno ? ` (skipped: ${noDeno})` : ""}`,
    async () => {
      lab ??= buildNetLab(`xr${process.pid % 100000}`, 2);
      const [home1, home2] = lab.homes as [NetLab["homes"][0], NetLab["homes"][0]];
      await using src = await tempDir();
      await using dst = await tempDir();
      const data = randomBytes(2_000_000, 1962);
      await writeFile(join(src.path, "deno.bin"), data);
      const { relayAt, recv, shown } = await relayAndWaitingReceiver(7883, home1.host, dst.path, DENO);
      const deno = sendByCode(
        home2.host,
        shown.code as string,
        relayAt,
        join(src.path, "deno.bin"),
        ["--via", "udp-reliable"],
        DENO,
      );
      expect(await deno.exited, deno.stderr()).toBe(0);
      expect(await recv.exited, recv.stderr()).toBe(0);
      expect(Buffer.compare(await readFile(join(dst.path, "deno.bin")), data)).toBe(0);
      for (const events of [recv.events, deno.events])
        expect(events.find((e) => e.event === "path")).toMatchObject({ path: "direct-udp" });
    },
    60_000,
  );

  test.skipIf(unavailable !== null)(
    `the relay killed once the punched path is up: the transfer goes on to the end${unavailable ? ` (skipped: ${unavailable})` : ""}`,
    async () => {
      lab ??= buildNetLab(`xr${process.pid % 100000}`, 2);
      const [home1, home2] = lab.homes as [NetLab["homes"][0], NetLab["homes"][0]];
      await using src = await tempDir();
      await using dst = await tempDir();
      const data = randomBytes(12_000_000, 777);
      await writeFile(join(src.path, "long.bin"), data);
      const { relay, relayAt, recv, shown } = await relayAndWaitingReceiver(7882, home1.host, dst.path);
      // A rate of 32 Mbit/s makes the 12 MB take about 3 s: the relay dies well before the end.
      const send = sendByCode(home2.host, shown.code as string, relayAt, join(src.path, "long.bin"), [
        "--via",
        "udp-reliable",
        "--rate",
        "32mbit",
      ]);
      await send.waitFor((e) => e.event === "path");
      relay.proc.kill("SIGKILL");
      expect(await relay.exited).not.toBe(0);
      // The relay is gone and the sender is still sending.
      expect(send.proc.exitCode).toBeNull();
      expect(await send.exited, send.stderr()).toBe(0);
      expect(await recv.exited, recv.stderr()).toBe(0);
      expect(Buffer.compare(await readFile(join(dst.path, "long.bin")), data)).toBe(0);
      expect(send.events.find((e) => e.event === "path")).toMatchObject({ path: "direct-udp" });
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
      const { relay, relayAt, recv, shown } = await relayAndWaitingReceiver(7880, home1.host, dst.path);
      const send = sendByCode(lab.internet, shown.code as string, relayAt, join(src.path, "out.bin"));
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
