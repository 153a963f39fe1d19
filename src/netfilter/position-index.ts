// Rule positions by an int32 key (a destination address, a port) for a chain's
// index: [key, entry] pairs in one typed array with open addressing. A look-up
// that finds its key reads one cache line, where a Map reads its hash table and
// then its entry; a packet to a random Service asks this of KUBE-SERVICES.

/** Rule positions, ascending; a lone position is kept as a number (most keys of a kube-proxy chain have one rule). */
export type Positions = number | readonly number[];

export class PositionIndex {
  /** Pairs: the key (as int32), then 0 for an empty slot, p + 1 for the lone position p, -(k + 1) for lists[k]. */
  private readonly slots: Int32Array;
  private readonly shift: number;
  private readonly lists: (readonly number[])[] = [];
  readonly size: number;

  constructor(entries: ReadonlyMap<number, Positions>) {
    let bits = 3;
    while (1 << bits < entries.size * 2) bits++;
    this.shift = 32 - bits;
    this.slots = new Int32Array(2 << bits);
    this.size = entries.size;
    for (const [key, positions] of entries) {
      let entry: number;
      if (typeof positions === 'number') entry = positions + 1;
      else {
        this.lists.push(positions);
        entry = -this.lists.length;
      }
      let at = this.home(key);
      while (this.slots[at + 1] !== 0) at = (at + 2) & (this.slots.length - 1);
      this.slots[at] = key | 0;
      this.slots[at + 1] = entry;
    }
  }

  /** The key's first pair, by Fibonacci hashing of its int32 form. */
  private home(key: number): number {
    return (Math.imul(key | 0, 0x9e3779b1) >>> this.shift) << 1;
  }

  get(key: number): Positions | undefined {
    const slots = this.slots;
    const k = key | 0;
    for (let at = this.home(key); ; at = (at + 2) & (slots.length - 1)) {
      const entry = slots[at + 1]!;
      if (entry === 0) return undefined;
      if (slots[at] === k) return entry > 0 ? entry - 1 : this.lists[-entry - 1];
    }
  }
}
