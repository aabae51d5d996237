import { expect, test } from "bun:test";
import { generateCode, normalizeCode } from "../secure/code.ts";
import { roomOf } from "./room.ts";

test("the room is the code's leading number only: the words never reach the relay", () => {
  expect(roomOf("417-apple-river-stone-tiger")).toBe("417");
  expect(roomOf(normalizeCode("007 Apple River Stone Tiger"))).toBe("7");
  // Two codes with one number and different words meet in one room: the PAKE tells them apart.
  expect(roomOf("5-a-b-c-d")).toBe(roomOf("5-w-x-y-z"));
  for (let i = 0; i < 50; i++) {
    const code = generateCode();
    const room = roomOf(code);
    expect(code.startsWith(`${room}-`)).toBe(true);
    for (const word of code.split("-").slice(1)) expect(room).not.toContain(word);
  }
});

test("a code without a leading number cannot name a room (its words are secret): a usage error", () => {
  expect(() => roomOf("correct-horse-battery")).toThrow(/start with a number/);
  expect(() => roomOf("12345")).toThrow(/start with a number/);
});
