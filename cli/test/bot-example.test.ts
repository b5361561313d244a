import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import test from 'ava';
import { GaschatProcess, startClient, startServer } from './processes.ts';

const BOT = fileURLToPath(new URL('../examples/bot.ts', import.meta.url));
const README = fileURLToPath(new URL('../../README.md', import.meta.url));

test('the README shows the bot example exactly as it is in cli/examples/bot.ts', (t) => {
  t.true(readFileSync(README, 'utf8').includes(`\`\`\`ts\n${readFileSync(BOT, 'utf8')}\`\`\``));
});

test('the README bot, embedding the engine over real UDP, says it is in, answers !ping, and leaves with QUIT on Ctrl-C', async (t) => {
  const { port, host } = await startServer(t, { password: 'rahasia' });
  const bot = new GaschatProcess([host, String(port)], {}, BOT);
  t.teardown(() => bot.kill('SIGKILL'));
  await bot.waitForText('bot: in the room with bot; say !ping');
  const ana = await startClient(t, { host, port }, 'ana', { password: 'rahasia' });
  t.deepEqual((await ana.waitFor('the welcome', (line) => line.type === 'welcome')).members, ['bot', 'ana']);
  ana.send('!ping');
  const pong = await ana.waitFor('the pong', (line) => line.type === 'message' && line.from === 'bot');
  t.is(pong.text, 'pong, ana');
  bot.kill('SIGINT');
  t.is(await bot.exitCode(), 0);
  t.true(bot.lines.includes('bot: left the room'), bot.lines.join('\n'));
  // Announced as a QUIT at once, not as a timeout half a minute later.
  const left = await ana.waitFor('the bot left', (line) => line.type === 'left' && line.name === 'bot');
  t.is(left.reason, 'quit');
});
