/**
 * docs/EVENTS.md against src/core/events.ts: every event kind and field of the XferEvent union is
 * documented, and the document names no event or field the code lacks. Read with the TypeScript
 * compiler's parser, so the check follows the type itself rather than a copy of it.
 */
import { expect, test } from "bun:test";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import ts from "typescript";
import { ROOT } from "../helpers/cli.ts";

/** event name → its field names (without `event`), from the XferEvent type alias. */
async function eventsInCode(): Promise<Map<string, string[]>> {
  const file = join(ROOT, "src/core/events.ts");
  const source = ts.createSourceFile(file, await readFile(file, "utf8"), ts.ScriptTarget.Latest, true);
  const alias = source.statements.find(
    (s): s is ts.TypeAliasDeclaration => ts.isTypeAliasDeclaration(s) && s.name.text === "XferEvent",
  );
  if (!alias || !ts.isUnionTypeNode(alias.type)) throw new Error("XferEvent is not a union type alias");
  const out = new Map<string, string[]>();
  for (const member of alias.type.types) {
    if (!ts.isTypeLiteralNode(member)) throw new Error(`an XferEvent member is not a literal: ${member.getText()}`);
    let name = "";
    const fields: string[] = [];
    for (const m of member.members) {
      if (!ts.isPropertySignature(m)) continue; // the index signature of `stats`: documented as "(others)"
      const key = m.name.getText(source);
      if (key === "event") name = (m.type as ts.LiteralTypeNode).literal.getText(source).slice(1, -1);
      else fields.push(key);
    }
    out.set(name, fields);
  }
  return out;
}

/** event name → documented field names, from the "### `name`" sections and their tables. */
async function eventsInDocs(): Promise<Map<string, string[]>> {
  const doc = await readFile(join(ROOT, "docs/EVENTS.md"), "utf8");
  const session = doc.slice(doc.indexOf("## Session events"), doc.indexOf("## Other commands"));
  const out = new Map<string, string[]>();
  for (const section of session.split(/^### /m).slice(1)) {
    const name = /^`([^`]+)`/.exec(section)?.[1];
    if (!name) throw new Error(`a section without an event name: ${section.slice(0, 40)}`);
    const fields = [...section.matchAll(/^\| `([^`]+)` \|/gm)].map((m) => m[1]!);
    out.set(name, fields);
  }
  return out;
}

test("docs/EVENTS.md documents every event and field of XferEvent, and only those", async () => {
  const code = await eventsInCode();
  const docs = await eventsInDocs();
  expect(code.size).toBeGreaterThan(10);
  expect([...docs.keys()].sort()).toEqual([...code.keys()].sort());
  for (const [name, fields] of code)
    expect({ name, fields: docs.get(name)?.sort() }).toEqual({ name, fields: [...fields].sort() });
});
