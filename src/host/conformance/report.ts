/** Conformance results for people (one line per case) and for scripts (NDJSON, one object per case). */
import type { CaseResult, ConformanceReport } from "./types.ts";

const MARK = { pass: "ok  ", fail: "FAIL", skip: "skip" } as const;

export function formatResult(r: CaseResult, json: boolean): string {
  if (json) return JSON.stringify({ event: "conformance", ...r });
  const note = r.message ? `\n         ${r.message}` : "";
  return `  ${MARK[r.status]} ${r.case.padEnd(24)} ${String(r.ms).padStart(6)} ms  ${r.title}${note}`;
}

export function formatSummary(report: ConformanceReport, json: boolean): string {
  const count = (s: CaseResult["status"]) => report.results.filter((r) => r.status === s).length;
  const totals = { passed: count("pass"), failed: count("fail"), skipped: count("skip") };
  if (json)
    return JSON.stringify({ event: "conformance-summary", transport: report.transport, ok: report.passed, ...totals });
  return `${report.transport}: ${totals.passed} passed, ${totals.failed} failed, ${totals.skipped} skipped — ${report.passed ? "conforms" : "DOES NOT CONFORM"}`;
}
