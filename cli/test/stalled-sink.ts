import { EventEmitter } from 'node:events';

/** A stream whose reader reads only when told: what it was given, and how much waits in it. */
export class StalledSink extends EventEmitter {
  written: string[] = [];
  writableLength = 0;

  write(chunk: string): boolean {
    this.written.push(chunk);
    this.writableLength += chunk.length;
    return false;
  }

  /** The reader takes everything: the stream drains. */
  read(): void {
    this.writableLength = 0;
    this.emit('drain');
  }
}
