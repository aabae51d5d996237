/**
 * Leaks: after a plugin closed everything, nothing of it may keep the process alive. Bun reports no
 * handles through process.getActiveResourcesInfo(), so the check that works everywhere is to run the
 * plugin in a child process (exit-probe.ts) and see whether that process exits by itself.
 */
import type { Buffer } from "node:buffer";
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type { TransportKind } from "../../plugin/api.ts";
import { CaseFailure, CaseSkipped, within } from "./harness.ts";
import type { ConformanceCase } from "./types.ts";

/** How long a process may take to exit once its plugin closed everything. */
const EXIT_GRACE_MS = 3000;

export function leakCase<K extends TransportKind>(): ConformanceCase<K> {
  return {
    id: "leaks.process-exits",
    title: "after everything is closed, no socket or timer keeps the process alive",
    timeoutMs: 20_000,
    async run(_scope, env) {
      const probe = fileURLToPath(new URL("./exit-probe.ts", import.meta.url));
      if (!env.modulePath) throw new CaseSkipped("needs the plugin's module path (modulePath option)");
      // Inside a compiled xfer binary the probe is not a file on disk and execPath is not a runtime.
      if (!existsSync(probe)) throw new CaseSkipped("the exit probe needs xfer run from source");
      const child = spawn(process.execPath, [probe, env.modulePath, env.name], { stdio: ["ignore", "pipe", "pipe"] });
      let out = "";
      let err = "";
      child.stderr.on("data", (d: Buffer) => {
        err += d.toString();
      });
      // "close", not "exit": it comes after stdout and stderr were read to the end.
      const exited = new Promise<number | null>((r) => child.on("close", (code) => r(code)));
      // The probe prints "closed ..." once it closed everything; from then on it should just exit.
      const closed = new Promise<number>((resolve) => {
        child.stdout.on("data", (d: Buffer) => {
          out += d.toString();
          if (out.includes("closed")) resolve(Date.now());
        });
      });
      try {
        const closedAt = await within(
          15_000,
          "the probe's listen/dial/transfer/close cycle",
          Promise.race([closed, exited.then(() => Promise.reject(probeFailed(err)))]),
        );
        const code = await within(EXIT_GRACE_MS, "process exit after closing everything", exited).catch(() => {
          throw new CaseFailure(
            `the process was still alive ${EXIT_GRACE_MS} ms after listener and connections were closed: a socket or timer leaked (active resources: ${out.trim().slice("closed ".length)})`,
          );
        });
        if (code !== 0) throw probeFailed(err);
        return `exited ${Date.now() - closedAt} ms after closing`;
      } finally {
        child.kill("SIGKILL");
      }
    },
  };
}

function probeFailed(stderr: string): CaseFailure {
  return new CaseFailure(`the probe failed: ${stderr.trim().slice(-500) || "(no output)"}`);
}
