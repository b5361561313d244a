import { Worker } from 'node:worker_threads';
import type { ServerWorkerData, ServerWorkerMeasure } from './server-worker.ts';

/** A server (gaschat or the raw relay) on its own thread, so that it has a core to itself. */
export interface ServerThread {
  readonly port: number;
  measure(): Promise<ServerWorkerMeasure>;
  stop(): Promise<void>;
}

export async function startServerThread(data: ServerWorkerData): Promise<ServerThread> {
  // The worker runs TypeScript: it registers tsx's loader first, then imports the server module.
  const script = new URL('./server-worker.ts', import.meta.url).href;
  const worker = new Worker(
    `import('tsx/esm/api').then(({ register }) => { register(); return import(${JSON.stringify(script)}); });`,
    { eval: true, workerData: data },
  );
  const port = await new Promise<number>((resolve, reject) => {
    worker.once('error', reject);
    worker.once('message', (message: { type: string; port: number }) => resolve(message.port));
  });
  return {
    port,
    measure: () =>
      new Promise((resolve) => {
        worker.once('message', (message: ServerWorkerMeasure) => resolve(message));
        worker.postMessage({ type: 'measure' });
      }),
    stop: async () => {
      worker.postMessage({ type: 'stop' });
      await new Promise((resolve) => worker.once('exit', resolve));
    },
  };
}
