/** Questions to the person at the terminal (only ever asked when stdin and stderr are terminals). */
import { createInterface } from "node:readline/promises";

export function canAsk(): boolean {
  return Boolean(process.stdin.isTTY && process.stderr.isTTY);
}

let queue: Promise<unknown> = Promise.resolve();

/** One question at a time, even when several sessions want an answer. */
export function ask(question: string): Promise<string> {
  const answer = queue.then(async () => {
    const rl = createInterface({ input: process.stdin, output: process.stderr, terminal: true });
    try {
      return await rl.question(question);
    } finally {
      rl.close();
    }
  });
  queue = answer.catch(() => {});
  return answer;
}

export async function confirm(question: string): Promise<boolean> {
  return /^\s*y(es)?\s*$/i.test(await ask(`${question} [y/N] `));
}
