/** Maximum over the last `span` rounds, one slot per round (BBR's bandwidth filter). */
export class WindowedMax {
  private readonly slots: { round: number; value: number }[] = [];
  constructor(private readonly span: number) {}

  update(value: number, round: number): void {
    const last = this.slots[this.slots.length - 1];
    if (last && last.round === round) last.value = Math.max(last.value, value);
    else this.slots.push({ round, value });
    while (this.slots.length && (this.slots[0] as { round: number }).round <= round - this.span) this.slots.shift();
  }

  get value(): number {
    let max = 0;
    for (const s of this.slots) if (s.value > max) max = s.value;
    return max;
  }

  reset(): void {
    this.slots.length = 0;
  }
}
