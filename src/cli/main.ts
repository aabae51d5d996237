/** The command line: flags in, one command run, one exit code out. All real work is in src/core. */
import cac from "cac";
import { EXIT, toXferError, XferError } from "../core/errors.ts";
import { hashingImplementation } from "../core/hashing.ts";
import { BUILD_COMMIT, VERSION } from "../core/version.ts";
import { pluginPaths } from "./commands/common.ts";
import { pluginCheckCommand } from "./commands/plugin-check.ts";
import { PRUNE_PARTS_DAYS, recvCommand } from "./commands/recv.ts";
import { relayCommand } from "./commands/relay.ts";
import { sendCommand } from "./commands/send.ts";
import { transportsCommand } from "./commands/transports.ts";
import { closest, DEFAULT_PORT, protectStdinArg } from "./parse.ts";
import { DEFAULT_RELAY_PORT } from "./rendezvous.ts";
import { createReporter } from "./reporter.ts";

type Flags = Record<string, unknown> & { json?: boolean; quiet?: boolean; verbose?: boolean };

export async function main(argv: string[]): Promise<number> {
  const cli = cac("xfer");
  let run: ((signal: AbortSignal) => Promise<number>) | null = null;
  let flagsSeen: Flags = {};
  const reporterFor = (flags: Flags) =>
    createReporter({
      json: !!flags.json,
      quiet: !!flags.quiet,
      verbose: !!flags.verbose,
      // `recv --stdout --json`: the file's bytes own stdout, so the events go to stderr.
      jsonStream: flags.stdout ? process.stderr : process.stdout,
    });

  cli
    .option("--json", "One JSON event per line on stdout, for scripts")
    .option("-q, --quiet", "Only errors")
    .option("--verbose", "More detail")
    .option("--plugin <path>", "Load a transport plugin file or folder (repeatable; also XFER_PLUGINS)");

  cli
    .command("recv [dir]", "Listen and save incoming files into dir (default: .)")
    .option("--listen <host:port>", "Address to listen on (a bare port or :port: every interface; 0 picks one)", {
      default: `0.0.0.0:${DEFAULT_PORT}`,
    })
    .option("--via <names>", "Accept only these transports (comma-separated; default: all)")
    .option("--once", "Exit after the first session")
    .option("--overwrite", "Replace existing files (default: refuse)")
    .option("--stdout", "Write the single incoming file to standard output (redirect it: not onto a terminal)")
    .option(
      "--rate <bits/s>",
      "Cap what this side sends (acknowledgements) on transports that pace; the data rate is the sender's --rate",
    )
    .option("--transport-opt <key=value>", "Transport-specific setting (repeatable; see: xfer transports --verbose)")
    .option("--idle-timeout <seconds>", "Give up on a peer silent this long (0: never)", { default: 60 })
    .option("--allow-loss", "udp-raw: save incomplete files anyway (holes as zeros, listed in <name>.missing.json)")
    .option(
      "--prune-parts <days>",
      "Remove parts of interrupted transfers untouched this many days, at start (0: never)",
      {
        default: PRUNE_PARTS_DAYS,
      },
    )
    .option("--code <code>", "Accept senders that give this code (default: a new one-time code; also XFER_CODE)")
    .option("-y, --yes", "Accept offers without asking (asked only on a terminal)")
    .option(
      "--relay <host:port>",
      `Wait at this relay instead of listening (port: ${DEFAULT_RELAY_PORT} unless given; also XFER_RELAY)`,
    )
    .option("--relay-password <password>", "The relay's password, if it has one (also XFER_RELAY_PASSWORD)")
    .option("--relay-only", "Through a relay: keep the session on it (no direct connection is tried)")
    .action((dir: string | undefined, flags: Flags) => {
      flagsSeen = flags;
      run = (signal) => recvCommand(dir, flags as never, reporterFor(flags), signal);
    });

  cli
    .command(
      "send <...paths_and_destination>",
      `Send files, folders or - (stdin) to host[:port] (port: ${DEFAULT_PORT} unless given)`,
    )
    .usage(`send <path...> <host[:port]>  (port: ${DEFAULT_PORT} unless given; - sends standard input)`)
    .example("XFER_CODE=7-word-word-word xfer send photo.jpg 192.168.1.20")
    .example("xfer send --code 7-word-word-word ./album notes.txt laptop.local:7878")
    .example("tar c ./dir | xfer send - --name dir.tar 192.168.1.20")
    .example("xfer send --via udp-reliable --rate 50mbit big.iso [2001:db8::5]:9000")
    .example("xfer send --relay relay.example.org ./album   (prints a code for: xfer recv --code CODE --relay ...)")
    .option(
      "--via <name>",
      "Transport to use (see: xfer transports; default: tcp-stream, or through a relay the best path found)",
    )
    .option("--name <name>", "Name for data read from standard input", { default: "stdin" })
    .option("--follow-symlinks", "Send what symbolic links point to (default: skip them)")
    .option("--rate <bits/s>", "Cap the sending rate, on transports that pace (e.g. 95mbit; not tcp-stream)")
    .option("--transport-opt <key=value>", "Transport-specific setting (repeatable; see: xfer transports --verbose)")
    .option("--idle-timeout <seconds>", "Give up on a peer silent this long (0: never)", { default: 60 })
    .option("--allow-loss", "udp-raw: data lost on the way is not a failure (exit 0 with a loss report)")
    .option("--code <code>", "The code the receiver printed (also XFER_CODE, which stays out of ps)")
    .option(
      "--relay <host:port>",
      `Meet the receiver at this relay: every argument is then a path (port: ${DEFAULT_RELAY_PORT} unless given; also XFER_RELAY)`,
    )
    .option("--relay-password <password>", "The relay's password, if it has one (also XFER_RELAY_PASSWORD)")
    .option("--relay-only", "Through a relay: keep the session on it (no direct connection is tried)")
    .option("--fec <k:m>", "udp-raw: add m XOR parity datagrams per k·m data (rebuilds one loss in each of m classes)")
    .action((args: string[], flags: Flags) => {
      flagsSeen = flags;
      run = (signal) => sendCommand(args, flags as never, reporterFor(flags), signal);
    });

  cli
    .command("relay", "Run a relay: pairs a sender and a receiver by their code's number, pipes their sealed bytes")
    .option("--listen <host:port>", "Address to listen on (TCP, and UDP for hole punching)", {
      default: `0.0.0.0:${DEFAULT_RELAY_PORT}`,
    })
    .option("--password <password>", "Peers must give this (--relay-password; also XFER_RELAY_PASSWORD)")
    .option("--max-rooms <n>", "Rooms open at once, waiting or piping (default 1000)")
    .option("--per-address <n>", "Connections one address may hold at once (default 16)")
    .option("--room-wait <seconds>", "How long a lone peer waits for the other side (default 600; 0: no limit)")
    .option("--room-bytes <size>", "Bytes one transfer may pipe, e.g. 10g (default 0: no limit)")
    .option("--room-seconds <seconds>", "How long one transfer may pipe (default 21600; 0: no limit)")
    .action((flags: Flags) => {
      flagsSeen = flags;
      run = (signal) => relayCommand(flags as never, signal);
    });

  cli
    .command("transports", "List the transports this xfer knows (--verbose: with their --transport-opt settings)")
    .action((flags: Flags) => {
      flagsSeen = flags;
      run = () => transportsCommand({ json: !!flags.json, verbose: !!flags.verbose }, pluginPaths(flags));
    });

  cli
    .command("plugin <action> [path]", "Plugin tools: 'plugin check <path>' runs the conformance kit on a plugin")
    .option("--only <case>", "Run only conformance cases whose id contains this (repeatable)")
    .option("--transport-opt <key=value>", "Setting passed to the plugin in every case (repeatable)")
    .action((action: string, path: string | undefined, flags: Flags) => {
      flagsSeen = flags;
      run = () => pluginCheckCommand(action, path, flags);
    });

  // `xfer help [command]` and `xfer version` are spelled out before parsing (see spelledOut).
  cli.help((sections) => {
    if (!cli.matchedCommand)
      sections.splice(3, 0, {
        title: "Also",
        body: "  xfer help [command]  this help, or a command's (same as --help)\n  xfer version         the version (same as --version)",
      });
    return sections;
  });
  // Naming the hashing loads the BLAKE3 addon (~3 ms in a binary): only for --version, not every start.
  const hashing = argv.includes("--version") || argv.includes("-v") ? `, ${hashingImplementation()}` : "";
  cli.version(`${VERSION} (${BUILD_COMMIT}${hashing})`);

  try {
    const parsed = cli.parse(pinHyphenatedBooleans(cli, protectStdinArg(spelledOut(argv))), { run: false });
    // Errors found before a command runs (unknown flags) are reported as --json asked too.
    flagsSeen = parsed.options as Flags;
    if (parsed.options.help || parsed.options.version) return EXIT.ok;
    if (!cli.matchedCommand) {
      if (cli.args.length > 0) {
        const typed = String(cli.args[0]);
        const near = closest(typed, cli.commands.map((c) => c.name.split(" ")[0]!).filter(Boolean));
        throw new XferError(
          "usage",
          `unknown command '${typed}'${near ? ` (did you mean 'xfer ${near}'?)` : ""} (see: xfer --help)`,
        );
      }
      cli.outputHelp();
      return EXIT.usage;
    }
    checkUnknownFlags(
      cli.matchedCommand.options.flatMap((o) => o.names).concat(cli.globalCommand.options.flatMap((o) => o.names)),
      parsed.options,
    );
    await cli.runMatchedCommand();
  } catch (err) {
    const e = err instanceof XferError ? err : cacError(err);
    reportError(reporterFor(flagsSeen), e);
    return e.exitCode;
  }
  const pending = run as ((signal: AbortSignal) => Promise<number>) | null;
  if (!pending) return EXIT.ok;
  const controller = new AbortController();
  const onSigint = () => controller.abort();
  process.once("SIGINT", onSigint);
  process.once("SIGTERM", onSigint);
  try {
    return await pending(controller.signal);
  } catch (err) {
    const e = controller.signal.aborted ? new XferError("internal", "interrupted") : toXferError(err);
    reportError(reporterFor(flagsSeen), e);
    return controller.signal.aborted ? EXIT.interrupted : e.exitCode;
  } finally {
    process.off("SIGINT", onSigint);
    process.off("SIGTERM", onSigint);
  }
}

function reportError(report: ReturnType<typeof createReporter>, e: XferError): void {
  report({ event: "error", code: e.code, message: e.message, exitCode: e.exitCode });
}

/** cac throws its own errors for missing arguments and the like: those are usage errors. */
function cacError(err: unknown): XferError {
  if (err instanceof Error && err.name === "CACError")
    return new XferError("usage", `${err.message} (see: xfer --help)`);
  return toXferError(err);
}

function checkUnknownFlags(known: string[], options: Record<string, unknown>): void {
  const allowed = new Set(["--", "help", "version", ...known.map(camel)]);
  for (const key of Object.keys(options)) {
    if (!allowed.has(key) && !allowed.has(camel(key))) {
      const typed = key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
      const near = closest(
        typed,
        known.filter((k) => k.length > 1).map((k) => k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)),
      );
      throw new XferError(
        "usage",
        `unknown option '--${typed}'${near ? ` (did you mean --${near}?)` : ""} (see: xfer --help)`,
      );
    }
  }
}

/** `xfer help [command]` and `xfer version` are the same as --help and --version. */
function spelledOut(argv: string[]): string[] {
  // argv is process.argv: the runtime and the script come first.
  const [runtime = "", script = "", first, ...rest] = argv;
  if (first === "version") return [runtime, script, "--version", ...rest];
  if (first === "help") return [runtime, script, ...rest, "--help"];
  return argv;
}

function camel(name: string): string {
  return name.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
}

/**
 * cac hands mri only the camel-case name of a boolean option, so mri reads `--follow-symlinks a b`
 * as `--follow-symlinks=a` and the path is lost. Writing such flags as `--follow-symlinks=true`
 * before parsing keeps the next argument where it belongs.
 */
function pinHyphenatedBooleans(cli: ReturnType<typeof cac>, argv: string[]): string[] {
  const booleans = new Set(
    [cli.globalCommand, ...cli.commands]
      .flatMap((c) => c.options)
      .filter((o) => o.isBoolean)
      .flatMap((o) => o.rawName.split(/[\s,]+/).filter((t) => t.startsWith("--") && t.includes("-", 2))),
  );
  return argv.map((a) => (booleans.has(a) ? `${a}=true` : a));
}
