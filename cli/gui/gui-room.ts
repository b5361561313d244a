import {
  type ClientActor,
  type ClientEvent,
  formatAddress,
  say,
  TEXT_BYTES_MAX,
  validateName,
} from '../../engine/index.ts';
import { Connection } from '../connection.ts';
import type { GuiEntry, GuiPhase, GuiUpdate, GuiView } from './gui-protocol.ts';

export type { GuiEntry, GuiPhase, GuiUpdate, GuiView } from './gui-protocol.ts';

/** Entries kept for a reload at most: the oldest go first. */
export const GUI_ENTRY_COUNT_MAX = 2000;

export interface GuiRoomOptions {
  readonly server: string;
  readonly clientPort: number;
  readonly stateDir: string;
  readonly serverKey?: string | undefined;
  readonly now?: () => number;
}

/** A login's answer to the page's request: accepted (the outcome follows as updates), or why not. */
export type GuiAnswer = { readonly ok: true } | { readonly ok: false; readonly error: string };

/**
 * The room as one window sees it: one login at a time on a connection of its own, the message list
 * since the join, the members, and the phase. Updates go to `publish` (the web server fans them out).
 */
export class GuiRoom {
  readonly #options: GuiRoomOptions;
  readonly #publish: (update: GuiUpdate) => void;
  readonly #now: () => number;
  #phase: GuiPhase = 'login';
  #status = 'not logged in';
  #server: string;
  #name = '';
  #members: string[] = [];
  #entries: GuiEntry[] = [];
  #nextId = 1;
  /** Own messages the server has not confirmed yet, oldest first (confirmations come in order). */
  #pending: number[] = [];
  #connection: Connection | undefined;
  #actor: ClientActor | undefined;
  #closed: Promise<void> | undefined;
  /** A login is opening its connection (before its phase says joining). */
  #opening = false;
  #resolveClosed: (() => void) | undefined;

  constructor(options: GuiRoomOptions, publish: (update: GuiUpdate) => void) {
    this.#options = options;
    this.#publish = publish;
    this.#now = options.now ?? Date.now;
    this.#server = options.server;
  }

  get phase(): GuiPhase {
    return this.#phase;
  }

  view(): GuiView {
    return {
      phase: this.#phase,
      server: this.#server,
      name: this.#name,
      members: this.#members,
      status: this.#status,
      entries: this.#entries,
      textBytesMax: TEXT_BYTES_MAX,
    };
  }

  /** Starts a login; its outcome comes as updates (the phase, or an alert). */
  async login(server: string, name: string, password: string): Promise<GuiAnswer> {
    if (this.#phase === 'joining' || this.#phase === 'joined' || this.#phase === 'reconnecting') {
      return { ok: false, error: 'already in a room: leave it first' };
    }
    if (this.#opening) {
      // Another page of this window is logging in (its socket is being opened): one login at a time.
      return { ok: false, error: 'a login is under way' };
    }
    this.#opening = true;
    try {
      return await this.#login(server, name, password);
    } finally {
      this.#opening = false;
    }
  }

  async #login(server: string, name: string, password: string): Promise<GuiAnswer> {
    const where = parseServer(server);
    if (!where.ok) {
      return where;
    }
    const validation = validateName(name);
    if (!validation.ok) {
      return { ok: false, error: validation.message };
    }
    if (password === '') {
      return { ok: false, error: 'the password is empty: give the room password' };
    }
    await this.#connection?.close();
    this.#connection = undefined;
    let connection: Connection;
    try {
      connection = await Connection.open({
        host: where.host,
        serverPort: where.port,
        clientPort: this.#options.clientPort,
        stateDir: this.#options.stateDir,
        serverKey: this.#options.serverKey,
      });
    } catch (error) {
      return { ok: false, error: error instanceof Error ? error.message : String(error) };
    }
    this.#connection = connection;
    this.#server = server;
    this.#name = name;
    this.#setPhase('joining', `joining ${formatAddress(connection.server)} as ${name}`);
    const { actor, outcome } = connection.login(name, password, (event) => this.#onEvent(event));
    this.#actor = actor;
    this.#closed = new Promise((resolve) => {
      this.#resolveClosed = resolve;
    });
    void outcome.then((settled) => {
      if (settled.kind !== 'welcome') {
        // Refused or unreachable: said next to the form, which stays filled for another try.
        this.#setPhase('login', settled.event.message);
        this.#publish({ type: 'alert', message: settled.event.message });
      }
    });
    return { ok: true };
  }

  /** A message typed in the page: taken (shown as sending) or refused with why. */
  say(text: string): GuiAnswer {
    const actor = this.#actor;
    if (actor === undefined || (this.#phase !== 'joined' && this.#phase !== 'reconnecting')) {
      return { ok: false, error: 'not in a room' };
    }
    const verdict = say(actor, text);
    if (!verdict.ok) {
      return { ok: false, error: verdict.message };
    }
    const entry: GuiEntry = {
      kind: 'message',
      id: this.#nextId++,
      from: this.#name,
      text,
      timeMs: this.#now(),
      self: true,
      state: 'sending',
    };
    this.#pending.push(entry.id);
    this.#add(entry);
    return { ok: true };
  }

  /** Leaves the room with QUIT (the Leave button, `QUIT` typed, Ctrl-C); resolves once closed. */
  async leave(): Promise<void> {
    const actor = this.#actor;
    if (actor === undefined || actor.getSnapshot().status !== 'active') {
      return;
    }
    actor.send({ type: 'chat.quit' });
    await this.#closed;
  }

  /** Stops the client and closes its socket (again: nothing). */
  async close(): Promise<void> {
    this.#actor?.stop();
    this.#actor = undefined;
    const connection = this.#connection;
    this.#connection = undefined;
    await connection?.close();
  }

  #onEvent(event: ClientEvent): void {
    switch (event.type) {
      case 'welcome':
        // The conversation since the join: what an earlier login of this window showed is gone.
        this.#entries = [];
        this.#pending = [];
        this.#setMembers(event.members);
        this.#setPhase('joined', `in the room as ${event.name}`);
        this.#notice(`welcome, ${event.name}! in the room: ${event.members.join(', ')}`);
        return;
      case 'rejoined':
        this.#setMembers(event.members);
        this.#setPhase('joined', `in the room as ${event.name}`);
        this.#notice(`back in the room${event.resent > 0 ? ` (${event.resent} resent)` : ''}`);
        return;
      case 'reconnecting':
        this.#setPhase('reconnecting', event.message);
        this.#notice(event.message);
        return;
      case 'joined':
        this.#setMembers([...this.#members, event.name]);
        this.#notice(`→ ${event.name} joined`);
        return;
      case 'left':
        this.#setMembers(this.#members.filter((member) => member !== event.name));
        this.#notice(`← ${event.name} left${event.reason === 'timeout' ? ' (timed out)' : ''}`);
        return;
      case 'message':
        if (event.self) {
          const id = this.#pending.shift();
          if (id !== undefined) {
            this.#replace(id, { timeMs: event.timeMs, state: 'confirmed' });
            return;
          }
        }
        this.#add({
          kind: 'message',
          id: this.#nextId++,
          from: event.from,
          text: event.text,
          timeMs: event.timeMs,
          self: event.self,
          state: 'confirmed',
        });
        return;
      case 'slowed':
      case 'waiting':
      case 'retrying':
        this.#notice(event.message);
        return;
      case 'error':
        if (event.code !== 'not-sent') {
          this.#notice(event.message);
        }
        return;
      case 'rejected':
        return;
      case 'closed': {
        for (const id of this.#pending) {
          this.#replace(id, { state: 'not-delivered' });
        }
        this.#pending = [];
        const wasIn = this.#phase === 'joined' || this.#phase === 'reconnecting';
        this.#actor = undefined;
        if (wasIn) {
          this.#notice(event.reason === 'quit' ? `you ${event.message}` : `disconnected: ${event.message}`);
          this.#setPhase('closed', event.reason === 'quit' ? `you ${event.message}` : event.message);
        }
        this.#resolveClosed?.();
        return;
      }
    }
  }

  #notice(text: string): void {
    this.#add({ kind: 'notice', id: this.#nextId++, text, timeMs: this.#now() });
  }

  #add(entry: GuiEntry): void {
    this.#entries.push(entry);
    if (this.#entries.length > GUI_ENTRY_COUNT_MAX) {
      this.#entries.splice(0, this.#entries.length - GUI_ENTRY_COUNT_MAX);
    }
    this.#publish({ type: 'entry', entry });
  }

  /** An own message confirmed or given up on: the same entry, sent again with its new state. */
  #replace(
    id: number,
    change: { readonly timeMs?: number; readonly state: 'confirmed' | 'not-delivered' },
  ): void {
    const index = this.#entries.findIndex((entry) => entry.id === id);
    const entry = this.#entries[index];
    if (entry?.kind !== 'message') {
      return;
    }
    const updated: GuiEntry = { ...entry, ...change };
    this.#entries[index] = updated;
    this.#publish({ type: 'entry', entry: updated });
  }

  #setMembers(members: readonly string[]): void {
    this.#members = [...members];
    this.#publish({ type: 'members', members: this.#members });
  }

  #setPhase(phase: GuiPhase, status: string): void {
    this.#phase = phase;
    this.#status = status;
    this.#publish({ type: 'phase', phase, status });
  }
}

/** `host:port`, `[v6]:port`: the form's Server field, or why it is not one. */
export function parseServer(
  text: string,
):
  | { readonly ok: true; readonly host: string; readonly port: number }
  | { readonly ok: false; readonly error: string } {
  const match = /^\s*(?:\[([^\]]+)\]|([^:\s]+)):(\d{1,5})\s*$/.exec(text);
  const port = Number(match?.[3]);
  if (match === null || !(port >= 1 && port <= 65_535)) {
    return {
      ok: false,
      error: `the server "${text}" is not host:port; give the server's address and port, such as 127.0.0.1:8080`,
    };
  }
  return { ok: true, host: match[1] ?? match[2] ?? '', port };
}
