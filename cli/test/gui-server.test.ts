import { mkdtempSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { GuiRoom, parseServer } from '../gui/gui-room.ts';
import { type GuiServer, startGuiServer } from '../gui/gui-server.ts';

/** The web server of `gaschat gui`, asked over HTTP the way a browser, or another site, would. */

async function gui(t: {
  teardown: (fn: () => Promise<void>) => void;
}): Promise<GuiServer & { token: string }> {
  const stateDir = mkdtempSync(join(tmpdir(), 'gaschat-gui-'));
  const server = await startGuiServer(
    (publish) => new GuiRoom({ server: '127.0.0.1:8080', clientPort: 0, stateDir }, publish),
  );
  t.teardown(() => server.close());
  return { ...server, token: new URL(server.url).searchParams.get('t') ?? '' };
}

interface Answer {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: string;
}

function ask(
  port: number,
  path: string,
  options: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const outgoing = request(
      { host: '127.0.0.1', port, path, method: options.method ?? 'GET', headers: options.headers ?? {} },
      (response) => {
        let body = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => {
          body += chunk;
        });
        response.on('end', () =>
          resolve({ status: response.statusCode ?? 0, headers: response.headers, body }),
        );
      },
    );
    outgoing.on('error', reject);
    outgoing.end(options.body);
  });
}

test('the page is served only with the token, from 127.0.0.1, with a policy that forbids inline script and framing', async (t) => {
  const { port, token, url } = await gui(t);
  t.regex(url, /^http:\/\/127\.0\.0\.1:\d+\/\?t=[0-9a-f]{32}$/);
  const page = await ask(port, `/?t=${token}`);
  t.is(page.status, 200);
  t.regex(String(page.headers['content-security-policy']), /script-src 'self';/);
  t.notRegex(String(page.headers['content-security-policy']), /unsafe-inline/);
  t.regex(String(page.headers['content-security-policy']), /frame-ancestors 'none'/);
  t.is(page.headers['referrer-policy'], 'no-referrer');
  t.notRegex(page.body, /<script>/, 'no inline script');
  for (const path of [
    '/',
    '/page.js',
    '/style.css',
    '/events',
    `/?t=${'0'.repeat(32)}`,
    `/?t=${token.slice(1)}`,
  ]) {
    const refused = await ask(port, path);
    t.is(refused.status, 403, path);
    t.regex(refused.body, /token is missing or wrong/);
  }
  t.is((await ask(port, `/page.js?t=${token}`)).status, 200);
});

test('a foreign Host (DNS rebinding) or Origin (another site), and a POST that is not JSON or says no Origin, are refused even with the token', async (t) => {
  const { port, token } = await gui(t);
  const rebound = await ask(port, `/?t=${token}`, { headers: { host: `attacker.example:${port}` } });
  t.is(rebound.status, 421);
  const own = `http://127.0.0.1:${port}`;
  const login = JSON.stringify({ server: '127.0.0.1:9', name: 'ana', password: 'x' });
  const cases: [Record<string, string>, number][] = [
    [
      { origin: 'http://attacker.example', 'content-type': 'application/json', 'x-gaschat-token': token },
      403,
    ],
    [{ 'content-type': 'application/json', 'x-gaschat-token': token }, 403],
    [{ origin: own, 'content-type': 'text/plain', 'x-gaschat-token': token }, 415],
    [{ origin: own, 'content-type': 'application/json' }, 403],
  ];
  for (const [headers, status] of cases) {
    const refused = await ask(port, '/login', { method: 'POST', headers, body: login });
    t.is(refused.status, status, JSON.stringify(headers));
  }
  const bad = await ask(port, '/login', {
    method: 'POST',
    headers: { origin: own, 'content-type': 'application/json', 'x-gaschat-token': token },
    body: JSON.stringify({ server: 'nowhere', name: 'ana', password: 'x' }),
  });
  t.is(bad.status, 400);
  t.regex(JSON.parse(bad.body).error, /is not host:port/);
});

test('the Server field takes host:port and [IPv6]:port, and says what is wrong with anything else', (t) => {
  t.like(parseServer('192.168.1.10:8080'), { ok: true, host: '192.168.1.10', port: 8080 });
  t.like(parseServer('[::1]:9000'), { ok: true, host: '::1', port: 9000 });
  t.like(parseServer(' localhost:1 '), { ok: true, host: 'localhost', port: 1 });
  for (const wrong of ['', '127.0.0.1', '127.0.0.1:0', '127.0.0.1:65536', 'a b:80', '::1:80']) {
    t.like(parseServer(wrong), { ok: false }, wrong);
  }
});

test('two logins at once (two pages of one window) start one session; the other is told why; an oversized body is refused as such', async (t) => {
  const { port, token } = await gui(t);
  const headers = {
    origin: `http://127.0.0.1:${port}`,
    'content-type': 'application/json',
    'x-gaschat-token': token,
  };
  const login = (name: string) =>
    ask(port, '/login', {
      method: 'POST',
      headers,
      body: JSON.stringify({ server: '127.0.0.1:9', name, password: 'x' }),
    });
  const answers = await Promise.all([login('dup1'), login('dup2')]);
  t.deepEqual(answers.map((answer) => answer.status).sort(), [200, 400]);
  const refused = answers.find((answer) => answer.status === 400);
  t.regex(JSON.parse(refused?.body ?? '{}').error, /a login is under way|already in a room/);
  const big = await ask(port, '/say', {
    method: 'POST',
    headers,
    body: JSON.stringify({ text: 'x'.repeat(20_000) }),
  });
  t.is(big.status, 413);
});
