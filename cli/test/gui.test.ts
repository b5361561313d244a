import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import test, { type ExecutionContext } from 'ava';
import type { Browser, Page } from 'playwright-core';
import { launchBrowser } from './browser.ts';
import { GaschatProcess, PASSWORD, startClient, startServer, WAIT_MS } from './processes.ts';

/**
 * `gaschat gui` in real Chromium: the page a user's browser shows, driven by its roles and labels as
 * a person (or a screen reader) finds them, against a real server and the gui process.
 */

const SCREENSHOTS = fileURLToPath(new URL('../../dist/screenshots/', import.meta.url));

async function browser(t: ExecutionContext): Promise<Browser> {
  const launched = await launchBrowser();
  t.teardown(() => launched.close());
  return launched;
}

/** Starts `gaschat gui host port --no-open`; resolves to the page address it prints. */
async function startGui(
  t: ExecutionContext,
  where: { host: string; port: number },
): Promise<{ gui: GaschatProcess; url: string }> {
  const gui = new GaschatProcess(['gui', where.host, String(where.port), '--no-open']);
  t.teardown(() => gui.kill('SIGKILL'));
  const url = (await gui.waitForText('http://127.0.0.1:')).trim();
  return { gui, url };
}

async function open(b: Browser, url: string, width = 1100, height = 760): Promise<Page> {
  const page = await b.newPage({ viewport: { width, height } });
  await page.goto(url);
  return page;
}

async function logIn(page: Page, name: string, password = PASSWORD): Promise<void> {
  await page.getByLabel('Username').fill(name);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Log in' }).click();
}

/**
 * Waits until `check` holds, polling: for what a page shows that no locator waits for (its title).
 * (The page's policy forbids eval, so Playwright's waitForFunction cannot run in it.)
 */
async function until(what: string, check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + WAIT_MS;
  while (!(await check())) {
    if (Date.now() > deadline) {
      throw new Error(`${what} did not happen within ${WAIT_MS} ms`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function say(page: Page, text: string): Promise<void> {
  await page.getByLabel('Message', { exact: true }).fill(text);
  await page.getByLabel('Message', { exact: true }).press('Enter');
}

test('log in, chat both ways with a JSON client and another window, members right in all three, HTML shown as text, Leave', async (t) => {
  const { port, host } = await startServer(t);
  const b = await browser(t);
  const one = await startGui(t, { host, port });
  const two = await startGui(t, { host, port });
  const ana = await open(b, one.url);
  // The Server field is filled from the command line; the password is masked.
  t.is(await ana.getByLabel('Server').inputValue(), `${host}:${port}`);
  t.is(await ana.getByLabel('Password').getAttribute('type'), 'password');
  await logIn(ana, 'ana');
  await ana.getByRole('log').getByText('welcome, ana!').waitFor();
  const budi = await open(b, two.url);
  await logIn(budi, 'budi');
  await budi.getByRole('log').getByText('welcome, budi!').waitFor();
  const citra = await startClient(t, { host, port }, 'citra');

  const membersOf = (page: Page) =>
    page.getByRole('list', { name: 'Members' }).getByRole('listitem').allTextContents();
  await ana.getByRole('list', { name: 'Members' }).getByText('citra').waitFor();
  t.deepEqual(await membersOf(ana), ['ana', 'budi', 'citra']);
  await budi.getByRole('list', { name: 'Members' }).getByText('citra').waitFor();
  t.deepEqual(await membersOf(budi), ['ana', 'budi', 'citra']);
  t.deepEqual((await citra.waitFor('welcome', (line) => line.type === 'welcome')).members, [
    'ana',
    'budi',
    'citra',
  ]);

  // From a window to the others, confirmed in the window.
  await say(ana, 'halo dari jendela 👋');
  await citra.waitFor(
    'ana at citra',
    (line) => line.type === 'message' && line.text === 'halo dari jendela 👋',
  );
  await budi.getByRole('log').getByText('halo dari jendela 👋').waitFor();
  await ana
    .getByRole('log')
    .locator('li.self[data-state="confirmed"]', { hasText: 'halo dari jendela' })
    .waitFor();
  // From the JSON client to both windows; markup is text.
  const injection = '<img src=x onerror=alert(1)>';
  citra.send(injection);
  await ana.getByRole('log').getByText(injection, { exact: true }).waitFor();
  await budi.getByRole('log').getByText(injection, { exact: true }).waitFor();
  t.is(await ana.locator('#messages img').count(), 0, 'no element was made of it');
  // Right to left text keeps its own direction.
  citra.send('مرحبا بالجميع');
  const rtl = budi.getByRole('log').getByText('مرحبا بالجميع');
  await rtl.waitFor();
  // Run in the page (a string: this file is compiled for Node, without the DOM's types).
  const direction = await budi.evaluate(
    "getComputedStyle([...document.querySelectorAll('#messages .text')].find((text) => text.textContent === 'مرحبا بالجميع')).direction",
  );
  t.is(direction, 'rtl');

  // The byte limit is shown before sending, and Send is held back past it.
  await ana.getByLabel('Message', { exact: true }).fill('é'.repeat(501));
  await ana.getByText('too long: 1002 of at most 1000 bytes').waitFor();
  t.true(await ana.getByRole('button', { name: 'Send' }).isDisabled());
  await ana.getByLabel('Message', { exact: true }).fill('');

  mkdirSync(SCREENSHOTS, { recursive: true });
  await ana.screenshot({ path: join(SCREENSHOTS, 'chat-desktop.png') });
  await ana.setViewportSize({ width: 390, height: 800 });
  await ana.screenshot({ path: join(SCREENSHOTS, 'chat-phone.png') });

  // A reload keeps the session and shows the conversation since the join.
  await budi.reload();
  await budi.getByRole('log').getByText('halo dari jendela 👋').waitFor();
  t.deepEqual(await membersOf(budi), ['ana', 'budi', 'citra']);

  // Leave: the others see it, the window says so and offers to log in again.
  await budi.getByRole('button', { name: 'Leave' }).click();
  await budi.getByText('The room is closed for you: you left the room.').waitFor();
  await citra.waitFor('budi left', (line) => line.type === 'left' && line.name === 'budi');
  await ana.getByRole('log').getByText('← budi left').waitFor();
  t.deepEqual(await membersOf(ana), ['ana', 'citra']);
  await budi.getByRole('button', { name: 'Log in again' }).click();
  t.true(await budi.getByRole('button', { name: 'Log in' }).isVisible());
});

test('a wrong password and a taken name are shown in the alert, in the terminal client words, with the form still filled', async (t) => {
  const { port, host } = await startServer(t);
  const b = await browser(t);
  await startClient(t, { host, port }, 'ana');
  const { url } = await startGui(t, { host, port });
  const page = await open(b, url);
  mkdirSync(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: join(SCREENSHOTS, 'login-desktop.png') });
  await logIn(page, 'budi', 'salah');
  const alert = page.getByRole('alert');
  await alert
    .getByText('the room password is wrong, or someone is interfering with the connection')
    .waitFor();
  t.is(await page.getByLabel('Username').inputValue(), 'budi');
  t.is(await page.getByLabel('Password').inputValue(), 'salah');
  await logIn(page, 'ANA');
  await alert.getByText('the name "ANA" is taken in this room; choose another').waitFor();
  await page.setViewportSize({ width: 390, height: 800 });
  await page.screenshot({ path: join(SCREENSHOTS, 'login-phone.png') });
  await logIn(page, 'budi');
  await page.getByRole('log').getByText('welcome, budi!').waitFor();
});

test('a page without the token gets nothing, and the room closing is shown with why', async (t) => {
  const { server, port, host } = await startServer(t);
  const b = await browser(t);
  const { url } = await startGui(t, { host, port });
  const stranger = await b.newPage();
  const response = await stranger.goto(url.replace(/\?t=.*/, ''));
  t.is(response?.status(), 403);
  const page = await open(b, url);
  await logIn(page, 'ana');
  await page.getByRole('log').getByText('welcome, ana!').waitFor();
  server.kill('SIGTERM');
  await page.getByText('The room is closed for you: the server closed the room.').waitFor();
  t.is(await page.getByRole('status').textContent(), 'the server closed the room');
});

test('keyboard alone, "sending" until confirmed, the new-messages marker, unread messages in the title, dark colours, and Ctrl-C leaving with QUIT', async (t) => {
  const { server, port, host } = await startServer(t);
  const b = await browser(t);
  const { gui, url } = await startGui(t, { host, port });
  const page = await open(b, url, 900, 500);
  // Tab from the top of the page reaches each field, and Enter logs in.
  await page.getByLabel('Server').focus();
  await page.keyboard.press('Tab');
  await page.keyboard.type('ana');
  await page.keyboard.press('Tab');
  await page.keyboard.type(PASSWORD);
  await page.keyboard.press('Enter');
  await page.getByRole('log').getByText('welcome, ana!').waitFor();
  const citra = await startClient(t, { host, port }, 'citra');

  // A message is "sending" until the server confirms it: the server is paused meanwhile.
  server.child.kill('SIGSTOP');
  await say(page, 'tunggu sebentar');
  const mine = page.getByRole('log').locator('li.self', { hasText: 'tunggu sebentar' });
  await mine.getByText('… sending').waitFor();
  server.child.kill('SIGCONT');
  await mine.getByText('✓ delivered').waitFor();

  // Scrolled up, new messages do not move the list: a marker says they came.
  for (let index = 0; index < 30; index += 1) {
    citra.send(`baris ${index}`);
  }
  await page.getByRole('log').getByText('baris 29', { exact: true }).waitFor();
  await page.evaluate("document.getElementById('messages').scrollTop = 0");
  citra.send('yang baru');
  const marker = page.getByRole('button', { name: 'New messages ↓' });
  await marker.waitFor();
  await marker.click();
  await marker.waitFor({ state: 'hidden' });

  // While the tab is hidden, the title counts what came.
  await page.evaluate(
    "Object.defineProperty(document, 'hidden', { value: true, configurable: true }); document.dispatchEvent(new Event('visibilitychange'))",
  );
  citra.send('satu lagi');
  citra.send('dan lagi');
  await until('the title counting 2', async () => (await page.title()) === '(2) gaschat');
  await page.evaluate(
    "Object.defineProperty(document, 'hidden', { value: false, configurable: true }); document.dispatchEvent(new Event('visibilitychange'))",
  );
  await until('the title back', async () => (await page.title()) === 'gaschat');

  // The system's dark scheme.
  const background = () => page.evaluate('getComputedStyle(document.documentElement).backgroundColor');
  await page.emulateMedia({ colorScheme: 'light' });
  const light = await background();
  await page.emulateMedia({ colorScheme: 'dark' });
  t.not(await background(), light);

  // Ctrl-C in the terminal leaves the room with QUIT, and the command exits 0.
  gui.kill('SIGINT');
  await citra.waitFor('ana left', (line) => line.type === 'left' && line.name === 'ana');
  t.like(
    citra.json.find((line) => line.type === 'left' && line.name === 'ana'),
    { reason: 'quit' },
  );
  t.is(await gui.exitCode(), 0);
});

/** A server on a given port (after another died there); `stateDir` gives it another identity. */
async function serverOn(t: ExecutionContext, port: number, stateDir?: string): Promise<GaschatProcess> {
  const server = new GaschatProcess(
    ['server', '127.0.0.1', '-p', String(port), '--json', '--password', PASSWORD],
    stateDir === undefined ? {} : { GASCHAT_STATE_DIR: stateDir },
  );
  t.teardown(() => server.kill('SIGKILL'));
  await server.waitFor('listening', (line) => line.type === 'listening');
  return server;
}

test('the window shows a server restart (reconnecting, then back in the room), and refuses a server whose key changed, saying so', async (t) => {
  const { server, port, host } = await startServer(t);
  const b = await browser(t);
  const { url } = await startGui(t, { host, port });
  const page = await open(b, url);
  await logIn(page, 'ana');
  await page.getByRole('log').getByText('welcome, ana!').waitFor();
  server.kill('SIGKILL');
  await server.exited;
  const restarted = await serverOn(t, port);
  // The next packet of the window's client gets a RESET: it joins again by itself.
  await say(page, 'masih di sini?');
  await page.getByRole('log').getByText('the server no longer holds this session').waitFor();
  await page.getByRole('log').getByText('back in the room').waitFor();
  t.is(await page.getByRole('status').textContent(), 'in the room as ana');
  await page
    .getByRole('log')
    .locator('li.self[data-state="confirmed"]', { hasText: 'masih di sini?' })
    .waitFor();

  // A server with another identity on the same address: the window says so and keeps the form.
  await page.getByRole('button', { name: 'Leave' }).click();
  await page.getByRole('button', { name: 'Log in again' }).click();
  restarted.kill('SIGKILL');
  await restarted.exited;
  await serverOn(t, port, mkdtempSync(join(tmpdir(), 'gaschat-other-')));
  await logIn(page, 'ana');
  await page.getByRole('alert').getByText("the server's identity key is not the one expected").waitFor();
  t.is(await page.getByLabel('Username').inputValue(), 'ana');
});
