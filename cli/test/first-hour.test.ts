import { execFileSync, spawnSync } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import test from 'ava';
import { GaschatProcess, type JsonLine, MAIN, PASSWORD, startClient, startServer } from './processes.ts';

const PACKAGE = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
  readonly version: string;
};
const ROOT = fileURLToPath(new URL('../../', import.meta.url));

test('the build leaves the command executable, so that npx gaschat runs it in the project folder', (t) => {
  t.true((statSync(MAIN).mode & 0o111) !== 0, `${MAIN} is not executable`);
});

test('--help, -h and gaschat help <command> print that command usage and exit 0, starting nothing', async (t) => {
  const cases: [string[], RegExp][] = [
    [['server', '--help'], /gaschat server: run a chat room/],
    [['server', '-p', '8080', '-h'], /gaschat server: run a chat room/],
    [['client', '--help'], /gaschat client: join a chat room/],
    [['sim', '--help'], /gaschat sim: simulate chat rooms/],
    [['sim', '--runs', '100000', '-h'], /gaschat sim: simulate chat rooms/],
    [['help', 'client'], /gaschat client: join a chat room/],
    [['help'], /gaschat: a chat room over UDP/],
    [['--help'], /gaschat: a chat room over UDP/],
  ];
  for (const [args, usage] of cases) {
    const run = new GaschatProcess(args);
    t.is(await run.exitCode(), 0, args.join(' '));
    const text = run.lines.join('\n');
    t.regex(text, usage, args.join(' '));
    t.notRegex(text, /listening|simulating|expected <host>/, args.join(' '));
  }
  for (const flag of ['-v', '--version']) {
    const run = new GaschatProcess([flag]);
    t.is(await run.exitCode(), 0);
    t.deepEqual(run.lines, [PACKAGE.version]);
  }
  const unknown = new GaschatProcess(['help', 'terbang']);
  t.is(await unknown.exitCode(), 2);
  t.regex(unknown.stderr.join(''), /unknown command "terbang"/);
});

test('colour follows --color, --no-color and FORCE_COLOR, and output that is not a terminal has none', async (t) => {
  const usage = ['client', '127.0.0.1'];
  const hasEscape = (run: GaschatProcess) => run.stderr.join('').includes('\u001b[');
  const cases: [string[], Record<string, string>, boolean][] = [
    [usage, {}, false],
    [[...usage, '--color'], {}, true],
    [usage, { FORCE_COLOR: '1' }, true],
    [[...usage, '--no-color'], { FORCE_COLOR: '1' }, false],
    [usage, { FORCE_COLOR: '1', NO_COLOR: '1' }, true],
  ];
  for (const [args, env, coloured] of cases) {
    // The harness sets FORCE_COLOR=0 unless told otherwise: here each case starts with no setting.
    const run = new GaschatProcess(args, { FORCE_COLOR: undefined, ...env });
    t.is(await run.exitCode(), 2);
    t.is(hasEscape(run), coloured, `${args.join(' ')} ${JSON.stringify(env)}`);
  }
});

function commandLineOf(pid: number | undefined): string {
  return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0+/g, ' ').trim();
}

test('ps tells the processes apart: gaschat server HOST:PORT and gaschat client NAME@HOST:PORT', async (t) => {
  const { server, port, host } = await startServer(t);
  const ana = await startClient(t, { host, port }, 'ana');
  t.is(commandLineOf(server.child.pid), `gaschat server ${host}:${port}`);
  t.is(commandLineOf(ana.child.pid), `gaschat client ana@${host}:${port}`);
});

test('a server stopped with SIGTERM tells every member; each client closes as server-closed and exits 4', async (t) => {
  const { server, port, host } = await startServer(t);
  const ana = await startClient(t, { host, port }, 'ana');
  const budi = await startClient(t, { host, port }, 'budi');
  await ana.waitFor('budi in the room', (line) => line.type === 'joined' && line.name === 'budi');
  server.kill('SIGTERM');
  for (const client of [ana, budi]) {
    t.is(await client.exitCode(), 4);
    t.like(client.json.at(-1), {
      type: 'closed',
      reason: 'server-closed',
      message: 'the server closed the room',
    });
  }
  t.is(await server.exitCode(), 0);
  t.like(
    server.json.find((line) => line.type === 'server.stopped'),
    { memberCount: 2, confirmedCount: 2 },
  );
});

test('JSON input: errors carry their line number in line order; bad UTF-8 is refused; a lone CR is text, CRLF ends a line', async (t) => {
  const { port, host } = await startServer(t);
  const ana = await startClient(t, { host, port }, 'ana');
  const budi = await startClient(t, { host, port }, 'budi');
  const input = Buffer.concat([
    Buffer.from('satu\n'),
    Buffer.from('   \n'),
    Buffer.from(`${'é'.repeat(501)}\n`),
    Buffer.from([0x62, 0x61, 0xff, 0x64, 0x0a]),
    Buffer.from('a\rb\n'),
    Buffer.from('dua\r\n'),
    Buffer.from([0xc3]),
  ]);
  ana.child.stdin.end(input);
  t.is(await ana.exitCode(), 0);
  const aboutLines = ana.json.filter((line) => line.line !== undefined);
  t.deepEqual(
    aboutLines.map((line) => [line.line, line.type, line.type === 'error' ? line.code : line.text]),
    [
      [1, 'message', 'satu'],
      [2, 'error', 'text-empty'],
      [3, 'error', 'text-too-long'],
      [4, 'error', 'bad-utf8'],
      [5, 'message', 'a\rb'],
      [6, 'message', 'dua'],
      [7, 'error', 'bad-utf8'],
    ],
  );
  await budi.waitFor('the last line', (line) => line.type === 'message' && line.text === 'dua');
  t.deepEqual(
    budi.json.filter((line) => line.type === 'message').map((line) => line.text),
    ['satu', 'a\rb', 'dua'],
  );
  t.false(ana.lines.join('\n').includes('\uFFFD'), 'nothing was replaced with U+FFFD');
});

test('JSON output carries the exact text, with control and bidi characters written as \\u escapes', async (t) => {
  const { port, host } = await startServer(t);
  const ana = await startClient(t, { host, port }, 'ana');
  const budi = await startClient(t, { host, port }, 'budi');
  const text = 'a\u202eb\u2066c\u0085d\u2028e 👨‍👩‍👧‍👦 می‌خواهم';
  ana.send(text);
  const got = await budi.waitFor('the text', (line: JsonLine) => line.type === 'message');
  t.is(got.text, text);
  const raw = budi.lines.find((line) => line.includes('"type":"message"')) ?? '';
  for (const escaped of ['\\u202e', '\\u2066', '\\u0085', '\\u2028', '\\u200d', '\\u200c']) {
    t.true(raw.includes(escaped), `${escaped} in ${raw}`);
  }
  t.false(/[\u0085\u2028\u202e\u2066]/.test(raw), 'no raw control or bidi character');
});

test('a text-mode client whose input is not a terminal prints no prompts', async (t) => {
  const { port, host } = await startServer(t);
  const budi = await startClient(t, { host, port }, 'budi');
  const ana = new GaschatProcess(['client', host, String(port), '-u', 'ana', '--password', PASSWORD]);
  t.teardown(() => ana.kill('SIGKILL'));
  await ana.waitForText('welcome, ana!');
  ana.send('halo dari pipa');
  await budi.waitFor('the message', (line) => line.type === 'message' && line.text === 'halo dari pipa');
  ana.endInput();
  t.is(await ana.exitCode(), 0);
  const text = ana.lines.join('\n');
  t.notRegex(text, /^> |sending\]/m, text);
  t.regex(text, /ana ✓: halo dari pipa/);
});

test('npm pack ships the command, the engine and its documents, and no test helpers, benchmarks or source maps', (t) => {
  const [packed] = JSON.parse(
    execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: ROOT, encoding: 'utf8' }),
  ) as [{ files: { path: string }[] }];
  const files = packed.files.map((file) => file.path);
  for (const wanted of [
    'LICENSE',
    'README.md',
    'PROTOCOL.md',
    'SECURITY.md',
    'TESTING.md',
    'BENCHMARKS.md',
    'package.json',
    'dist/cli/main.js',
    'dist/engine/index.js',
    'dist/engine/index.d.ts',
    'dist/adapters/udp/index.js',
    'dist/adapters/sim/index.js',
  ]) {
    t.true(files.includes(wanted), `${wanted} is shipped`);
  }
  for (const unwanted of [
    /port-contract/,
    /test-support/,
    /network-fixture/,
    /bench/,
    /\.map$/,
    /\.test\./,
    /\/test\//,
    /mutants/,
  ]) {
    t.deepEqual(
      files.filter((file) => unwanted.test(file)),
      [],
      String(unwanted),
    );
  }
});

test('the packed tarball installs in an empty folder without an install-script warning, and npx gaschat --help works there', (t) => {
  const folder = mkdtempSync(join(tmpdir(), 'gaschat-install-'));
  t.teardown(() => rmSync(folder, { recursive: true, force: true }));
  const [packed] = JSON.parse(
    execFileSync('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', folder], {
      cwd: ROOT,
      encoding: 'utf8',
    }),
  ) as [{ filename: string }];
  writeFileSync(join(folder, 'package.json'), '{ "name": "empty", "private": true }\n');
  // The cache that npm ci filled holds every dependency: no download is needed.
  const install = spawnSync(
    'npm',
    ['install', '--prefer-offline', '--no-audit', '--no-fund', `./${packed.filename}`],
    {
      cwd: folder,
      encoding: 'utf8',
    },
  );
  t.is(install.status, 0, install.stderr);
  t.notRegex(`${install.stdout}${install.stderr}`, /install-scripts|allowScripts/);
  const help = spawnSync('npx', ['--no-install', 'gaschat', '--help'], { cwd: folder, encoding: 'utf8' });
  t.is(help.status, 0, help.stderr);
  t.regex(help.stdout, /gaschat: a chat room over UDP/);
});

test('a JSON client interrupted during its handshake closes as quit and exits 0', async (t) => {
  // A port held by a socket that never answers.
  const silent = createSocket('udp4');
  const port = await new Promise<number>((resolve) =>
    silent.bind(0, '127.0.0.1', () => resolve(silent.address().port)),
  );
  t.teardown(() => silent.close());
  const client = await startClient(t, { host: '127.0.0.1', port }, 'ana', { expectWelcome: false });
  await client.waitFor('a retry', (line) => line.type === 'retrying');
  client.kill('SIGINT');
  t.is(await client.exitCode(), 0);
  t.like(client.json.at(-1), { type: 'closed', reason: 'quit' });
});
