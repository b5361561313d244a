import type { TableVisitor } from '../../engine/index.ts';
import type { VirtualClock } from './virtual-clock.ts';

/** The fullest one kind of table ever was in a run, against its named maximum. */
export interface TableHighWater {
  /** `room.sessions`, `link.reorderBuffer`, `client.ownLines`, … */
  readonly table: string;
  readonly highWater: number;
  readonly max: number;
  /** Who held it then (`room`, `session <id>`, `client <node>`), and when. */
  readonly owner: string;
  readonly atMs: number;
}

/**
 * Watches every table of every machine after every step of a run (the engine's documented
 * `visitServerTables` and `visitClientTables`), keeping for each kind of table the fullest it was, so
 * the checker can hold each against its maximum: a table that grows without bound shows up even
 * while every visible guarantee still holds.
 */
export class TableWatch {
  readonly #clock: VirtualClock;
  readonly #byTable = new Map<string, TableHighWater>();

  constructor(clock: VirtualClock) {
    this.#clock = clock;
  }

  /** The visitor to hand to the engine's table visitors. An arrow, so it can be passed unbound. */
  readonly visitor: TableVisitor = (table, size, max, owner) => {
    const known = this.#byTable.get(table);
    // The first time a table is over its maximum is kept, whatever comes later; otherwise the fullest.
    if (known === undefined || (known.highWater <= known.max && (size > known.highWater || size > max))) {
      this.#byTable.set(table, { table, highWater: size, max, owner, atMs: this.#clock.now() });
    }
  };

  /** Every kind of table seen, sorted by name. */
  get highWater(): TableHighWater[] {
    return [...this.#byTable.values()].sort((a, b) => a.table.localeCompare(b.table));
  }
}
