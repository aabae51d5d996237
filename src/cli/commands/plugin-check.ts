/**
 * `xfer plugin check <path>`: load a plugin file the way every command does, then run the
 * conformance kit over each transport it exports. Exit 0 when everything conforms, 1 when a case
 * failed, 2 when the file cannot even be loaded.
 */
import { resolve } from "node:path";
import { BUILTIN_TRANSPORTS } from "../../../plugins/builtin.ts";
import { XferError } from "../../core/errors.ts";
import { type CaseResult, formatResult, formatSummary, runConformance } from "../../host/conformance/index.ts";
import { importPlugin, moduleFile } from "../../host/loader.ts";
import type { AnyTransport } from "../../plugin/api.ts";
import { parseTransportOpts } from "../parse.ts";
import { checkTransportOptions } from "../transport-options.ts";
import { toArray } from "./common.ts";

export interface PluginCheckFlags {
  json?: boolean;
  /** Run only cases whose id contains this (repeatable). */
  only?: string | string[];
  /** `--transport-opt key=value` (repeatable), handed to the plugin in every case. */
  transportOpt?: string | string[];
}

const SOME_CASE_FAILED = 1;

export async function pluginCheckCommand(action: string, path: string | undefined, flags: PluginCheckFlags) {
  if (action !== "check" || !path) throw new XferError("usage", "usage: xfer plugin check <path>");
  const file = moduleFile(resolve(path), "--plugin");
  const exported = await importPlugin(file);
  const extra = parseTransportOpts(toArray(flags.transportOpt));
  const print = (line: string) => process.stdout.write(`${line}\n`);
  let allPassed = true;
  for (const { value } of exported) {
    const transport = value as AnyTransport;
    if (!flags.json) print(`${String(transport?.name)} (${file})`);
    const clash = nameClash(transport, file);
    if (clash) print(formatResult(clash, Boolean(flags.json)));
    // A definition too broken to have a schema is the kit's to report (definition.shape).
    if (typeof transport?.options?.safeParse === "function") checkTransportOptions([transport], { extra });
    const report = await runConformance(transport, {
      modulePath: file,
      only: toArray(flags.only).map(String),
      extra,
      onResult: (r) => print(formatResult(r, Boolean(flags.json))),
    });
    if (clash) report.results.unshift(clash);
    report.passed &&= !clash;
    print(formatSummary(report, Boolean(flags.json)));
    allPassed &&= report.passed;
  }
  return allPassed ? 0 : SOME_CASE_FAILED;
}

/** A plugin named like a built-in works in no command: report it as a failed case. */
function nameClash(t: AnyTransport, file: string): CaseResult | null {
  if (!BUILTIN_TRANSPORTS.some((b) => b.name === t?.name)) return null;
  return {
    transport: t.name,
    case: "definition.name-free",
    title: "the name is not taken by a built-in transport",
    status: "fail",
    ms: 0,
    message: `'${t.name}' is a built-in transport; ${file} must use another name`,
  };
}
