/**
 * The deadlines of many owners (the room's sessions), for one timer: the earliest of them, and the
 * owners whose deadline has come. A binary min-heap with lazy deletion: setting a deadline pushes an
 * entry and leaves the old one to be skipped when it reaches the top, so that a deadline that moves on
 * every datagram costs O(log n) and no search. The heap is rebuilt when stale entries outnumber live
 * ones, so its size stays within twice the owner count (plus a constant).
 */
export class Deadlines<T> {
  /** Each owner's current deadline: the one entry of the heap that counts for it. */
  readonly #current = new Map<T, number>();
  readonly #heapAt: number[] = [];
  readonly #heapOwner: T[] = [];

  get size(): number {
    return this.#current.size;
  }

  /** Sets (or with undefined, clears) an owner's deadline. */
  set(owner: T, deadlineMs: number | undefined): void {
    if (deadlineMs === undefined) {
      this.#current.delete(owner);
      return;
    }
    if (this.#current.get(owner) === deadlineMs) {
      return;
    }
    this.#current.set(owner, deadlineMs);
    this.#push(deadlineMs, owner);
    if (this.#heapAt.length > 2 * this.#current.size + 64) {
      this.#rebuild();
    }
  }

  /** The earliest deadline of all owners; undefined when none has one. */
  earliest(): number | undefined {
    this.#dropStale();
    return this.#heapAt[0];
  }

  /** Takes out every owner whose deadline is at or before `nowMs` (their deadlines are cleared). */
  takeDue(nowMs: number): T[] {
    const due: T[] = [];
    for (;;) {
      this.#dropStale();
      const at = this.#heapAt[0];
      if (at === undefined || at > nowMs) {
        return due;
      }
      const owner = this.#pop();
      this.#current.delete(owner);
      due.push(owner);
    }
  }

  /** The heap's entry count, live and stale: for tests of its bound. */
  get entryCount(): number {
    return this.#heapAt.length;
  }

  /** Pops top entries that are no longer their owner's current deadline. */
  #dropStale(): void {
    while (this.#heapAt.length > 0) {
      const owner = this.#heapOwner[0] as T;
      if (this.#current.get(owner) === this.#heapAt[0]) {
        return;
      }
      this.#pop();
    }
  }

  #rebuild(): void {
    this.#heapAt.length = 0;
    this.#heapOwner.length = 0;
    for (const [owner, at] of this.#current) {
      this.#push(at, owner);
    }
  }

  #push(at: number, owner: T): void {
    const heapAt = this.#heapAt;
    const heapOwner = this.#heapOwner;
    let index = heapAt.length;
    heapAt.push(at);
    heapOwner.push(owner);
    while (index > 0) {
      const parent = (index - 1) >> 1;
      if ((heapAt[parent] as number) <= at) {
        break;
      }
      heapAt[index] = heapAt[parent] as number;
      heapOwner[index] = heapOwner[parent] as T;
      index = parent;
    }
    heapAt[index] = at;
    heapOwner[index] = owner;
  }

  #pop(): T {
    const heapAt = this.#heapAt;
    const heapOwner = this.#heapOwner;
    const top = heapOwner[0] as T;
    const lastAt = heapAt.pop() as number;
    const lastOwner = heapOwner.pop() as T;
    const size = heapAt.length;
    if (size > 0) {
      let index = 0;
      for (;;) {
        const left = 2 * index + 1;
        if (left >= size) {
          break;
        }
        const right = left + 1;
        const child = right < size && (heapAt[right] as number) < (heapAt[left] as number) ? right : left;
        if ((heapAt[child] as number) >= lastAt) {
          break;
        }
        heapAt[index] = heapAt[child] as number;
        heapOwner[index] = heapOwner[child] as T;
        index = child;
      }
      heapAt[index] = lastAt;
      heapOwner[index] = lastOwner;
    }
    return top;
  }
}
