/** The kit's public shapes: options in, one result per case out. */
import type { TransportKind } from "../../plugin/api.ts";
import type { Scope } from "./harness.ts";

export type CaseStatus = "pass" | "fail" | "skip";

export interface CaseResult {
  transport: string;
  /** Stable id, e.g. "stream.backpressure"; usable with `only`. */
  case: string;
  title: string;
  status: CaseStatus;
  ms: number;
  /** Why it failed, or why it was skipped. */
  message?: string;
}

export interface ConformanceOptions {
  /** Run only cases whose id contains one of these strings. */
  only?: readonly string[];
  /** The plugin's module file: enables the exit probe (leaked sockets or timers keep a process alive). */
  modulePath?: string;
  /** Passed as TransportOptions.extra to listen() and dial(). */
  extra?: Record<string, string>;
  /** Multiplies every case timeout (slow CI machines). Default 1. */
  timeoutScale?: number;
  /** Called as each case finishes, for live reports. */
  onResult?: (result: CaseResult) => void;
}

export interface ConformanceReport {
  transport: string;
  kind: TransportKind;
  passed: boolean;
  results: CaseResult[];
}

export interface CaseEnv {
  /** Bound for one step (listen, dial, accept...), already scaled. */
  stepMs: number;
  modulePath?: string;
  /** The transport name, for the exit probe to find it in its module. */
  name: string;
}

export interface ConformanceCase<K extends TransportKind> {
  id: string;
  title: string;
  /** Whole-case deadline in ms, before scaling. */
  timeoutMs: number;
  /** Resolves (optionally with a note for the report) or throws why the plugin is wrong. */
  run(scope: Scope<K>, env: CaseEnv): Promise<string | undefined>;
}
