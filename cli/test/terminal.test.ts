import { execFileSync } from 'node:child_process';
import { createSocket } from 'node:dgram';
import test, { type ExecutionContext } from 'ava';
import { MAIN, PASSWORD, startClient, startServer, TEST_STATE_DIR, WAIT_MS } from './processes.ts';

// The interactive client in a real terminal: tmux gives it a pty of 100 columns, and the test reads
// the screen back as a user would see it.

function tmux(...args: string[]): string {
  return execFileSync('tmux', args, { encoding: 'utf8' });
}

/**
 * Runs `gaschat client <args>` in a fresh tmux session; the screen ends with its exit code. Colour is
 * off unless `environment` (shell assignments) says otherwise.
 */
function startTerminal(
  t: ExecutionContext,
  name: string,
  args: string,
  environment = 'FORCE_COLOR=0',
): string {
  const session = `gaschat-test-${name}-${process.pid}`;
  // CI services set CI (and TeamCity its own variable), which turns chalk's colour detection off even
  // on a terminal: the test decides the environment the client sees, whatever machine runs it.
  // Known servers go to the test's own state directory, not the user's: ports are reused between runs,
  // by servers with other keys.
  const command = `env -u NO_COLOR -u FORCE_COLOR -u CI -u TEAMCITY_VERSION GASCHAT_STATE_DIR=${TEST_STATE_DIR} ${environment} ${process.execPath} ${MAIN} client ${args}; echo "exit code $?"; sleep 600`;
  tmux('new-session', '-d', '-s', session, '-x', '100', '-y', '30', command);
  t.teardown(() => {
    try {
      tmux('kill-session', '-t', session);
    } catch {
      // Already gone.
    }
  });
  return session;
}

async function screenWith(session: string, what: string | RegExp): Promise<string> {
  const deadline = Date.now() + WAIT_MS;
  for (;;) {
    const screen = tmux('capture-pane', '-p', '-t', session);
    if (typeof what === 'string' ? screen.includes(what) : what.test(screen)) {
      return screen;
    }
    if (Date.now() > deadline) {
      throw new Error(`the screen never showed ${String(what)}; it shows:\n${screen}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

test('the interactive client: prompts, a masked password, and an incoming message leaves a half-typed line intact', async (t) => {
  const { port, host } = await startServer(t);
  const budi = await startClient(t, { host, port }, 'budi');
  const session = startTerminal(t, 'chat', `${host} ${port}`);

  await screenWith(session, 'username:');
  tmux('send-keys', '-t', session, 'ana', 'Enter');
  await screenWith(session, 'password:');
  tmux('send-keys', '-t', session, '-l', PASSWORD);
  const masked = await screenWith(session, `password: ${'*'.repeat(PASSWORD.length)}`);
  t.false(masked.includes(PASSWORD), 'the password is never shown');
  tmux('send-keys', '-t', session, 'Enter');
  await screenWith(session, 'welcome, ana!');

  // Half a line typed, then a message arrives from budi.
  tmux('send-keys', '-t', session, '-l', 'setengah diketik');
  await screenWith(session, '> setengah diketik');
  budi.send('pesan dari budi');
  const screen = await screenWith(session, 'budi: pesan dari budi');
  const lines = screen.trimEnd().split('\n');
  t.is(lines.at(-1), '> setengah diketik', 'the half-typed line is redrawn intact below the message');
  // Finishing the line sends all of it.
  tmux('send-keys', '-t', session, '-l', ' sampai selesai');
  tmux('send-keys', '-t', session, 'Enter');
  const got = await budi.waitFor("ana's line", (line) => line.type === 'message' && line.from === 'ana');
  t.is(got.text, 'setengah diketik sampai selesai');
  await screenWith(session, /ana ✓: setengah diketik sampai selesai/);

  // Control characters from the network are shown as U+FFFD, never obeyed.
  budi.send('\u001b[2Jmerah\u0007');
  await screenWith(session, '\uFFFD[2Jmerah\uFFFD');

  tmux('send-keys', '-t', session, '-l', '/who');
  tmux('send-keys', '-t', session, 'Enter');
  await screenWith(session, 'in the room (2): budi, ana');

  tmux('send-keys', '-t', session, '-l', 'QUIT');
  tmux('send-keys', '-t', session, 'Enter');
  await screenWith(session, 'exit code 0');
  await budi.waitFor(
    'ana left',
    (line) => line.type === 'left' && line.name === 'ana' && line.reason === 'quit',
  );
});

test('a refused login is asked again with the reason shown', async (t) => {
  const { port, host } = await startServer(t);
  const session = startTerminal(t, 'refused', `${host} ${port} -u ana`);
  await screenWith(session, 'password:');
  tmux('send-keys', '-t', session, '-l', 'salah');
  tmux('send-keys', '-t', session, 'Enter');
  await screenWith(session, 'login refused: the room password is wrong');
  await screenWith(session, /password is wrong[\s\S]*password:/);
  tmux('send-keys', '-t', session, '-l', PASSWORD);
  tmux('send-keys', '-t', session, 'Enter');
  await screenWith(session, 'welcome, ana!');
  tmux('send-keys', '-t', session, 'C-d');
  await screenWith(session, 'exit code 0');
  t.regex(tmux('capture-pane', '-p', '-t', session), /you left the room/);
});

test('a message over the limit is refused with its size and the limit, and Ctrl-C leaves cleanly', async (t) => {
  const { port, host } = await startServer(t);
  const budi = await startClient(t, { host, port }, 'budi');
  const session = startTerminal(t, 'long', `${host} ${port} -u ana --password ${PASSWORD}`);
  await screenWith(session, 'welcome, ana!');
  // 501 two-byte characters: 1002 bytes of UTF-8.
  tmux('send-keys', '-t', session, '-l', 'é'.repeat(501));
  tmux('send-keys', '-t', session, 'Enter');
  await screenWith(session, 'the message is 1002 bytes of UTF-8; the limit is 1000');
  tmux('send-keys', '-t', session, 'C-c');
  await screenWith(session, 'exit code 0');
  await budi.waitFor(
    'ana left',
    (line) => line.type === 'left' && line.name === 'ana' && line.reason === 'quit',
  );
  t.false(
    budi.json.some((line) => line.type === 'message' && line.from === 'ana'),
    'nothing was sent',
  );
});

test('a typed name that is not allowed is explained and asked again; a wrapped half-typed line survives incoming messages', async (t) => {
  const { port, host } = await startServer(t);
  const budi = await startClient(t, { host, port }, 'budi');
  const session = startTerminal(t, 'wrapped', `${host} ${port} --password ${PASSWORD}`);
  await screenWith(session, 'username:');
  tmux('send-keys', '-t', session, '-l', 'nama salah');
  tmux('send-keys', '-t', session, 'Enter');
  await screenWith(session, /"nama salah" may only hold letters[\s\S]*username:/);
  tmux('send-keys', '-t', session, '-l', 'ana');
  tmux('send-keys', '-t', session, 'Enter');
  await screenWith(session, 'welcome, ana!');
  // 150 characters at 100 columns: the line being typed wraps onto a second row.
  const typed = `${'panjang '.repeat(18)}akhir`;
  tmux('send-keys', '-t', session, '-l', typed);
  budi.send('satu');
  budi.send('dua');
  const screen = await screenWith(session, 'budi: dua');
  t.true(screen.includes('budi: satu'), screen);
  t.true(screen.replace(/\n/g, '').includes(`> ${typed}`), screen);
  tmux('send-keys', '-t', session, 'Enter');
  const got = await budi.waitFor("ana's long line", (line) => line.type === 'message' && line.from === 'ana');
  t.is(got.text, typed);
});

test('the password prompt ignores arrows, Home, End and Delete, and takes a paste whole', async (t) => {
  const { port, host } = await startServer(t);
  const session = startTerminal(t, 'keys', `${host} ${port} -u ana`);
  await screenWith(session, 'password:');
  // Typed with cursor keys in between: none of their escape sequences may end up in the password.
  tmux('send-keys', '-t', session, '-l', 'kata');
  tmux('send-keys', '-t', session, 'Left', 'Right', 'Home', 'End', 'Delete', 'Up', 'F1');
  // The rest pasted in one go, as a terminal delivers a paste.
  tmux('send-keys', '-t', session, '-l', '--', '-sandi');
  // One star per character of the password, and not one more for a key's escape sequence.
  const masked = await screenWith(session, new RegExp(`password: \\*{${PASSWORD.length}}$`, 'm'));
  t.notRegex(masked, /\[[A-D~]|OP/);
  tmux('send-keys', '-t', session, 'Enter');
  t.regex(await screenWith(session, /welcome, ana!|refused/), /welcome, ana!/);
  tmux('send-keys', '-t', session, 'C-d');
  await screenWith(session, 'exit code 0');
});

test('a line refused as too long comes back with the cursor at its end: Ctrl-U clears it and typing goes on', async (t) => {
  const { port, host } = await startServer(t);
  const budi = await startClient(t, { host, port }, 'budi');
  const session = startTerminal(t, 'restored', `${host} ${port} -u ana --password ${PASSWORD}`);
  await screenWith(session, 'welcome, ana!');
  tmux('send-keys', '-t', session, '-l', 'é'.repeat(501));
  tmux('send-keys', '-t', session, 'Enter');
  await screenWith(session, 'the message is 1002 bytes of UTF-8; the limit is 1000');
  // With the cursor at the start, Ctrl-U would erase nothing and the new text would go in front.
  tmux('send-keys', '-t', session, 'C-u');
  tmux('send-keys', '-t', session, '-l', 'pendek saja');
  tmux('send-keys', '-t', session, 'Enter');
  const got = await budi.waitFor("ana's line", (line) => line.type === 'message' && line.from === 'ana');
  t.is(got.text, 'pendek saja');
});

test('when the server stops, the terminal says the server closed the room and the client exits 4', async (t) => {
  const { server, port, host } = await startServer(t);
  const session = startTerminal(t, 'stopped', `${host} ${port} -u ana --password ${PASSWORD}`);
  await screenWith(session, 'welcome, ana!');
  server.kill('SIGINT');
  const screen = await screenWith(session, 'exit code 4');
  t.regex(screen, /the server closed the room/);
});

test('an unreachable server: the terminal shows each attempt, then what to check', async (t) => {
  // A port held by a socket that never answers: nobody else can take it while the test runs.
  const socket = createSocket('udp4');
  const port = await new Promise<number>((resolve) =>
    socket.bind(0, '127.0.0.1', () => resolve(socket.address().port)),
  );
  t.teardown(() => socket.close());
  const session = startTerminal(t, 'unreachable', `127.0.0.1 ${port} -u ana --password ${PASSWORD}`);
  await screenWith(session, 'trying again (attempt 2 of 6)');
  const screen = await screenWith(session, 'exit code 3');
  t.regex(screen, /attempt 6 of 6/);
  // The advice wraps at the terminal's width: rows are joined again before reading it.
  const joined = screen.replace(/\n/g, '');
  t.regex(joined, /check that a gaschat\s*server\s*runs\s*there/);
  t.regex(joined, /no\s*firewall\s*blocks\s*UDP\s*port/);
});

test('on a terminal, colour is on by default and NO_COLOR turns it off', async (t) => {
  const withColour = startTerminal(t, 'colour', '127.0.0.1', 'TERM=xterm-256color');
  await screenWith(withColour, 'exit code 2');
  t.true(tmux('capture-pane', '-p', '-e', '-t', withColour).includes('\u001b['));
  const without = startTerminal(t, 'nocolour', '127.0.0.1', 'TERM=xterm-256color NO_COLOR=1');
  await screenWith(without, 'exit code 2');
  t.false(tmux('capture-pane', '-p', '-e', '-t', without).includes('\u001b['));
});

test('a signal while the password prompt waits ends the client at once (it used to hang on a dead terminal)', async (t) => {
  const { port, host } = await startServer(t);
  const session = startTerminal(t, 'signal', `${host} ${port} -u ana`);
  await screenWith(session, 'password:');
  const shell = tmux('display-message', '-p', '-t', session, '#{pane_pid}').trim();
  const client = execFileSync('pgrep', ['-P', shell], { encoding: 'utf8' }).trim();
  execFileSync('kill', ['-TERM', client]);
  t.regex(await screenWith(session, /exit code \d+/), /exit code 0/);
});
