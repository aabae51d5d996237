/**
 * The layers of docs/ARCHITECTURE.md, enforced: this test reads every import of the product's source
 * and fails when an arrow points the wrong way or a cycle appears.
 */
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { ROOT } from "./helpers/cli.ts";

/** Every non-test TypeScript file of the product, relative to the root. */
const FILES = [
  ...new Bun.Glob("src/**/*.ts").scanSync({ cwd: ROOT }),
  ...new Bun.Glob("plugins/**/*.ts").scanSync({ cwd: ROOT }),
].filter((f) => !f.endsWith(".test.ts") && !f.endsWith(".fixture.ts"));

/** The contract plugins build on: nothing in it may reach into the host. */
const isContract = (f: string) => f.startsWith("src/plugin/");

/** Relative imports of `file`, resolved to root-relative paths (packages and node: builtins left out). */
function importsOf(file: string): string[] {
  const text = readFileSync(join(ROOT, file), "utf8");
  const specs = [...text.matchAll(/(?:^|\n)\s*(?:import|export)[^;]*?from\s+"([^"]+)"/g)].map((m) => m[1]!);
  const dynamic = [...text.matchAll(/import\(\s*"([^"]+)"\s*\)/g)].map((m) => m[1]!);
  return [...specs, ...dynamic]
    .filter((s) => s.startsWith("."))
    .map((s) => relative(ROOT, resolve(join(ROOT, dirname(file)), s)));
}

const GRAPH = new Map(FILES.map((f) => [f, importsOf(f)]));

function violations(rule: (from: string, to: string) => string | null): string[] {
  const out: string[] = [];
  for (const [from, tos] of GRAPH)
    for (const to of tos) {
      const why = rule(from, to);
      if (why) out.push(`${from} → ${to}: ${why}`);
    }
  return out;
}

describe("architecture", () => {
  test("the scan sees the product (a rule over nothing would pass)", () => {
    expect(FILES.length).toBeGreaterThan(80);
    expect(GRAPH.get("src/core/session/run.ts")?.length).toBeGreaterThan(5);
  });

  test("plugins import only the public plugin API and their own files", () => {
    const bad = violations((from, to) => {
      if (!from.startsWith("plugins/") || from === "plugins/builtin.ts") return null;
      const own = from.split("/").slice(0, 2).join("/");
      if (to.startsWith(`${own}/`) || isContract(to)) return null;
      return "a plugin may use only the contract in src/plugin/";
    });
    expect(bad).toEqual([]);
  });

  test("the plugin contract reaches nothing of the host", () => {
    const bad = violations((from, to) =>
      isContract(from) && !isContract(to) ? "the contract must stand alone" : null,
    );
    expect(bad).toEqual([]);
  });

  test("the core never imports a plugin, the CLI or the plugin host", () => {
    const bad = violations((from, to) => {
      if (!from.startsWith("src/core/")) return null;
      if (to.startsWith("plugins/")) return "the core knows no transport by name";
      if (to.startsWith("src/cli/")) return "the core does not depend on the CLI";
      if (to.startsWith("src/host/")) return "the core uses only the plugin contract";
      return null;
    });
    expect(bad).toEqual([]);
  });

  test("the plugin host knows no transport by name and nothing of the CLI", () => {
    const bad = violations((from, to) => {
      if (!from.startsWith("src/host/")) return null;
      if (to.startsWith("plugins/")) return "the host loads transports; it names none";
      if (to.startsWith("src/cli/")) return "the host does not depend on the CLI";
      return null;
    });
    expect(bad).toEqual([]);
  });

  test("the relay server uses the core and nothing of the CLI, the plugins or the plugin host", () => {
    const bad = violations((from, to) => {
      if (!from.startsWith("src/relay/")) return null;
      if (to.startsWith("src/relay/") || to.startsWith("src/core/") || to === "src/plugin/tcp/preamble.ts") return null;
      return "the relay is the core's rendezvous wire plus its own sockets (and it reads a TCP preamble)";
    });
    expect(bad).toEqual([]);
    expect([...GRAPH.keys()].some((f) => f.startsWith("src/relay/"))).toBe(true);
  });

  test("no import cycles", () => {
    const cycles: string[] = [];
    const state = new Map<string, "visiting" | "done">();
    const stack: string[] = [];
    const visit = (f: string) => {
      if (state.get(f) === "done") return;
      if (state.get(f) === "visiting") {
        cycles.push([...stack.slice(stack.indexOf(f)), f].join(" → "));
        return;
      }
      state.set(f, "visiting");
      stack.push(f);
      for (const to of GRAPH.get(f) ?? []) if (GRAPH.has(to)) visit(to);
      stack.pop();
      state.set(f, "done");
    };
    for (const f of GRAPH.keys()) visit(f);
    expect(cycles).toEqual([]);
  });
});
