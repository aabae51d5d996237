#!/usr/bin/env bun
import { main } from "./cli/main.ts";
import { flushJsonEvents } from "./cli/reporter.ts";

const code = await main(process.argv);
await flushJsonEvents();
// Flush stdout before exiting: a pipe reader must get every byte (recv --stdout, --json).
if (process.stdout.writableNeedDrain) await new Promise((r) => process.stdout.once("drain", r));
process.exit(code);
