/**
 * The transport conformance kit: real transfers through a plugin on loopback, checking the contract
 * written in api.ts. Plugin authors run it with `xfer plugin check <file>` or from their own tests:
 *
 *   import { runConformance } from "xfer/plugin/conformance";
 *   const report = await runConformance(myTransport, { modulePath: "/abs/path/to/index.ts" });
 *   expect(report.passed).toBe(true);
 */
import type { AnyTransport, TransportDefinition, TransportKind } from "../../plugin/api.ts";
import { shapeProblem } from "../registry.ts";
import { DATAGRAM_CASES } from "./datagram-cases.ts";
import { CaseSkipped, quietContext, Scope, within } from "./harness.ts";
import { leakCase } from "./leak-case.ts";
import { sessionCase, wrongCodeCase } from "./session-case.ts";
import { DATA_CASES } from "./stream-data-cases.ts";
import { LIFECYCLE_CASES } from "./stream-lifecycle-cases.ts";
import type { CaseEnv, CaseResult, ConformanceCase, ConformanceOptions, ConformanceReport } from "./types.ts";

export { formatResult, formatSummary } from "./report.ts";
export type { CaseResult, CaseStatus, ConformanceOptions, ConformanceReport } from "./types.ts";

const STREAM_CASES = [...DATA_CASES, ...LIFECYCLE_CASES];

/** Bound for a single step (listen, dial, accept) inside a case. */
const STEP_MS = 5000;

/** Ids of the cases the kit runs for a transport of this kind, in order. */
export function caseIds(kind: TransportKind): string[] {
  return kind === "stream"
    ? [...STREAM_CASES.map((c) => c.id), sessionCase().id, wrongCodeCase().id, leakCase().id]
    : [...DATAGRAM_CASES.map((c) => c.id), sessionCase().id, wrongCodeCase().id, leakCase().id];
}

export async function runConformance(
  transport: AnyTransport,
  options: ConformanceOptions = {},
): Promise<ConformanceReport> {
  const name = typeof transport?.name === "string" ? transport.name : "(unnamed)";
  const problem = shapeProblem(transport);
  const shape: CaseResult = {
    transport: name,
    case: "definition.shape",
    title: "the export is a valid transport definition",
    status: problem ? "fail" : "pass",
    ms: 0,
    ...(problem ? { message: problem } : {}),
  };
  options.onResult?.(shape);
  const results = [shape];
  if (!problem) {
    results.push(
      ...(transport.kind === "stream"
        ? await runCases(
            transport,
            [...STREAM_CASES, sessionCase<"stream">(), wrongCodeCase<"stream">(), leakCase<"stream">()],
            options,
          )
        : await runCases(
            transport,
            [...DATAGRAM_CASES, sessionCase<"datagram">(), wrongCodeCase<"datagram">(), leakCase<"datagram">()],
            options,
          )),
    );
  }
  return {
    transport: name,
    kind: transport.kind,
    passed: results.every((r) => r.status !== "fail"),
    results,
  };
}

async function runCases<K extends TransportKind>(
  transport: TransportDefinition<K>,
  cases: readonly ConformanceCase<K>[],
  options: ConformanceOptions,
): Promise<CaseResult[]> {
  const scale = options.timeoutScale ?? 1;
  const env: CaseEnv = { stepMs: STEP_MS * scale, modulePath: options.modulePath, name: transport.name };
  const selected = cases.filter((c) => !options.only?.length || options.only.some((o) => c.id.includes(o)));
  const results: CaseResult[] = [];
  for (const c of selected) {
    const logs: string[] = [];
    const scope = new Scope(transport, quietContext(options.extra ?? {}, logs));
    const started = performance.now();
    let result: CaseResult;
    try {
      const note = await within(c.timeoutMs * scale, `case ${c.id}`, c.run(scope, env));
      result = {
        transport: transport.name,
        case: c.id,
        title: c.title,
        status: "pass",
        ms: 0,
        ...(note ? { message: note } : {}),
      };
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      const status = err instanceof CaseSkipped ? "skip" : "fail";
      const warned = logs.length ? ` (plugin warned: ${logs.slice(-3).join(" | ")})` : "";
      result = { transport: transport.name, case: c.id, title: c.title, status, ms: 0, message: message + warned };
    } finally {
      await scope.dispose();
    }
    result.ms = Math.round(performance.now() - started);
    options.onResult?.(result);
    results.push(result);
  }
  return results;
}
