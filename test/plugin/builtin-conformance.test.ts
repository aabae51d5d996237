/**
 * Every built-in transport through the conformance kit: stream ones with every case, datagram ones
 * with the datagram subset. A transport added to plugins/builtin.ts is checked here automatically.
 */
import { describe, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { BUILTIN_TRANSPORTS } from "../../plugins/builtin.ts";
import { type ConformanceReport, caseIds, runConformance } from "../../src/host/conformance/index.ts";
import type { AnyTransport } from "../../src/plugin/api.ts";
import { ROOT } from "../helpers/cli.ts";

/**
 * Cases a built-in is known to fail, with why. They show as todo instead of failing the suite;
 * delete an entry once the transport is fixed (the case then runs as a normal test again).
 */
const KNOWN_GAPS: Record<string, Record<string, string>> = {};

/** One kit run per transport, shared by its per-case tests. */
const reports = new Map<string, Promise<ConformanceReport>>();
function reportFor(t: AnyTransport): Promise<ConformanceReport> {
  let report = reports.get(t.name);
  if (!report) {
    // Built-ins live in plugins/<name>/index.ts by convention; the exit probe needs that file.
    const modulePath = join(ROOT, "plugins", t.name, "index.ts");
    report = runConformance(t, { modulePath: existsSync(modulePath) ? modulePath : undefined });
    reports.set(t.name, report);
  }
  return report;
}

for (const transport of BUILTIN_TRANSPORTS) {
  describe(`built-in ${transport.name} (${transport.kind})`, () => {
    for (const id of ["definition.shape", ...caseIds(transport.kind)]) {
      const gap = KNOWN_GAPS[transport.name]?.[id];
      if (gap) {
        test.todo(`${id} — known gap: ${gap}`);
        continue;
      }
      test(id, async () => {
        const result = (await reportFor(transport)).results.find((r) => r.case === id);
        if (result?.status === "fail") throw new Error(result.message);
        // A case the kit skipped proved nothing: it must be listed in KNOWN_GAPS, not pass here.
        expect(result?.status).toBe("pass");
      }, 120_000);
    }
  });
}
