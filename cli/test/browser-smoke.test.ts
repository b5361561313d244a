import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import test from 'ava';
import { launchBrowser, openPage } from './browser.ts';

/**
 * The browser tests' footing, on its own: the system Chromium starts, loads a page over HTTP from
 * 127.0.0.1, and runs its script, found and driven by roles and labels. When this fails, the gui
 * tests' failures are about the machine, not the page.
 */

const PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>smoke</title></head><body>
<h1>Smoke room</h1>
<form><label>Message <input name="text" autocomplete="off"></label><button>Send</button></form>
<ul aria-label="Messages"></ul>
<script>
  const form = document.querySelector('form');
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const item = document.createElement('li');
    item.textContent = form.text.value.toUpperCase();
    document.querySelector('ul').append(item);
    form.text.value = '';
  });
</script>
</body></html>`;

test('the system Chromium loads a page from 127.0.0.1 and runs its script', async (t) => {
  const server = createServer((_request, response) => {
    response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(PAGE);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.teardown(() => {
    server.closeAllConnections();
    server.close();
  });
  const browser = await launchBrowser();
  t.teardown(() => browser.close()); // teardowns run last first: the browser closes before the server

  const page = await openPage(browser, { width: 480, height: 640 });
  const { port } = server.address() as AddressInfo;
  await page.goto(`http://127.0.0.1:${port}/`);

  t.is(await page.getByRole('heading', { level: 1 }).textContent(), 'Smoke room');
  t.deepEqual(await page.evaluate('[innerWidth, innerHeight]'), [480, 640]);

  const message = page.getByRole('textbox', { name: 'Message' });
  await message.pressSequentially('hello from ava');
  await page.getByRole('button', { name: 'Send' }).click();
  // Waits for the script's answer (no sleep): the item appears once the submit handler has run.
  const item = page.getByRole('list', { name: 'Messages' }).getByRole('listitem');
  await item.filter({ hasText: 'HELLO FROM AVA' }).waitFor();
  t.deepEqual(await item.allTextContents(), ['HELLO FROM AVA']);
  t.is(await message.inputValue(), '');
});
