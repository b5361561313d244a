import { randomBytes, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { PAGE_CSS, pageHtml } from './assets.ts';
import type { GuiAnswer, GuiRoom, GuiUpdate } from './gui-room.ts';

/**
 * The web server of `gaschat gui`: the page, and a bridge to the room (server-sent events down, JSON
 * POSTs up: no dependency, and nothing the browser does not have). Only the user's own browser may use
 * it: it listens on 127.0.0.1 alone; every request must carry the random token of the printed URL (a
 * query parameter, or a header for the POSTs); a Host header other than this server's (DNS rebinding)
 * and an Origin other than its own (another site's page) are refused; a POST must be JSON (a form on
 * another site cannot send it). Every response forbids inline script, framing and referrers.
 */

/** Pages connected at once at most (each holds an event stream). */
export const GUI_STREAM_COUNT_MAX = 8;
/** The largest request body taken: a message is at most 1000 bytes, the login form less. */
const BODY_BYTES_MAX = 16 * 1024;
/** What waits for one page's event stream at most before the page is cut off (it reconnects). */
const STREAM_PENDING_BYTES_MAX = 1 << 20;
/** A comment down every event stream this often, so that a proxy or the browser keeps it open. */
const HEARTBEAT_MS = 15_000;

const SECURITY_HEADERS = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  'cache-control': 'no-store',
} as const;

/**
 * The page's script, compiled by the build next to this module (tsconfig.page.json); from the sources
 * (tsx), the built one.
 */
function pageScript(): string {
  const candidates = [
    new URL('./page/page.js', import.meta.url),
    new URL('../../dist/cli/gui/page/page.js', import.meta.url),
  ];
  for (const candidate of candidates) {
    try {
      return readFileSync(fileURLToPath(candidate), 'utf8');
    } catch {
      // The next place.
    }
  }
  throw new Error(`the page's script is missing (${fileURLToPath(candidates[0] ?? '')}): run npm run build`);
}

export interface GuiServer {
  /** The page's address, with its token: the one line the command prints. */
  readonly url: string;
  readonly port: number;
  readonly room: GuiRoom;
  close(): Promise<void>;
}

/** Starts the web server for a room made with the function that pushes its updates to every page. */
export async function startGuiServer(
  createRoom: (publish: (update: GuiUpdate) => void) => GuiRoom,
  options: { readonly port?: number } = {},
): Promise<GuiServer> {
  const token = randomBytes(16).toString('hex');
  const script = pageScript();
  const streams = new Set<ServerResponse>();
  let port = 0;
  const room = createRoom((update) => {
    const chunk = `data: ${JSON.stringify(update)}\n\n`;
    for (const stream of streams) {
      if (stream.writableLength > STREAM_PENDING_BYTES_MAX) {
        // A page that stopped reading (a suspended tab) is cut off rather than buffered for: its
        // browser connects again by itself and is sent the whole view.
        streams.delete(stream);
        stream.destroy();
        continue;
      }
      stream.write(chunk);
    }
  });
  const server: Server = createServer((request, response) => {
    void handle(request, response).catch((error: unknown) => {
      if (!response.headersSent) {
        reply(response, error instanceof TooLarge ? 413 : 500, {
          error: error instanceof Error ? error.message : String(error),
        });
      } else {
        response.destroy();
      }
    });
  });

  const handle = async (request: IncomingMessage, response: ServerResponse): Promise<void> => {
    const url = new URL(request.url ?? '/', `http://127.0.0.1:${port}`);
    const refusal = refuse(request, url, token, port);
    if (refusal !== undefined) {
      reply(response, refusal.status, { error: refusal.error });
      return;
    }
    const route = `${request.method} ${url.pathname}`;
    switch (route) {
      case 'GET /':
        send(response, 200, 'text/html; charset=utf-8', pageHtml(token));
        return;
      case 'GET /page.js':
        send(response, 200, 'text/javascript; charset=utf-8', script);
        return;
      case 'GET /style.css':
        send(response, 200, 'text/css; charset=utf-8', PAGE_CSS);
        return;
      case 'GET /events': {
        if (streams.size >= GUI_STREAM_COUNT_MAX) {
          reply(response, 503, { error: `at most ${GUI_STREAM_COUNT_MAX} pages at once; close one` });
          return;
        }
        response.writeHead(200, {
          ...SECURITY_HEADERS,
          'content-type': 'text/event-stream; charset=utf-8',
          connection: 'keep-alive',
        });
        response.write(
          `data: ${JSON.stringify({ type: 'view', view: room.view() } satisfies GuiUpdate)}\n\n`,
        );
        streams.add(response);
        const heartbeat = setInterval(() => response.write(': still here\n\n'), HEARTBEAT_MS);
        heartbeat.unref();
        request.on('close', () => {
          clearInterval(heartbeat);
          streams.delete(response);
        });
        return;
      }
      case 'POST /login': {
        const body = await jsonBody(request);
        answer(
          response,
          await room.login(field(body, 'server'), field(body, 'name'), field(body, 'password')),
        );
        return;
      }
      case 'POST /say':
        answer(response, room.say(field(await jsonBody(request), 'text')));
        return;
      case 'POST /leave':
        await room.leave();
        answer(response, { ok: true });
        return;
      default:
        reply(response, 404, { error: `nothing at ${request.method} ${url.pathname}` });
    }
  };

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: '127.0.0.1', port: options.port ?? 0 }, () => {
      server.off('error', reject);
      resolve();
    });
  });
  port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/?t=${token}`,
    port,
    room,
    close: async () => {
      await room.close();
      for (const stream of streams) {
        stream.end();
      }
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Why a request is refused, if it is: a stranger's, another site's, or one without the token. */
function refuse(
  request: IncomingMessage,
  url: URL,
  token: string,
  port: number,
): { readonly status: number; readonly error: string } | undefined {
  const own = [`127.0.0.1:${port}`, `localhost:${port}`];
  if (!own.includes(request.headers.host ?? '')) {
    return { status: 421, error: `the Host "${request.headers.host ?? ''}" is not this page's` };
  }
  const origin = request.headers.origin;
  if (origin !== undefined && !own.some((host) => origin === `http://${host}`)) {
    return { status: 403, error: `requests from ${origin} are refused` };
  }
  const given = url.searchParams.get('t') ?? headerOf(request, 'x-gaschat-token') ?? '';
  if (!tokenMatches(given, token)) {
    return { status: 403, error: 'the token is missing or wrong: open the address gaschat gui printed' };
  }
  if (request.method === 'POST') {
    if (origin === undefined) {
      return { status: 403, error: 'a POST must say where it comes from (Origin)' };
    }
    if (!(request.headers['content-type'] ?? '').startsWith('application/json')) {
      return { status: 415, error: 'a POST must be JSON' };
    }
  } else if (request.method !== 'GET') {
    return { status: 405, error: `${request.method} is not taken here` };
  }
  return undefined;
}

function headerOf(request: IncomingMessage, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function tokenMatches(given: string, token: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
}

class TooLarge extends Error {}

async function jsonBody(request: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    size += (chunk as Buffer).length;
    if (size > BODY_BYTES_MAX) {
      throw new TooLarge(`the request is over ${BODY_BYTES_MAX} bytes`);
    }
    chunks.push(chunk as Buffer);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
  } catch {
    return undefined;
  }
}

function field(body: unknown, name: string): string {
  const value =
    typeof body === 'object' && body !== null ? (body as Record<string, unknown>)[name] : undefined;
  return typeof value === 'string' ? value : '';
}

function answer(response: ServerResponse, result: GuiAnswer): void {
  reply(response, result.ok ? 200 : 400, result);
}

function reply(response: ServerResponse, status: number, body: unknown): void {
  send(response, status, 'application/json; charset=utf-8', JSON.stringify(body));
}

function send(response: ServerResponse, status: number, type: string, body: string): void {
  response.writeHead(status, { ...SECURITY_HEADERS, 'content-type': type });
  response.end(body);
}
