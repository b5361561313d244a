import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import test from 'ava';
import { GaschatProcess, startClient, startServer } from './processes.ts';

const BOT = fileURLToPath(new URL('../examples/bot.ts', import.meta.url));
const README = fileURLToPath(new URL('../../README.md', import.meta.url));

test('the README shows the bot example exactly as it is in cli/examples/bot.ts', (t) => {
  t.true(readFileSync(README, 'utf8').includes(`\`\`\`ts\n${readFileSync(BOT, 'utf8')}\`\`\``));
});

test('the README bot, embedding the engine over real UDP, answers !ping in a room', async (t) => {
  const { port, host } = await startServer(t, { password: 'rahasia' });
  const bot = new GaschatProcess([host, String(port)], {}, BOT);
  t.teardown(() => bot.kill('SIGKILL'));
  const ana = await startClient(t, { host, port }, 'ana', { password: 'rahasia' });
  await ana.waitFor('the bot in the room', (line) =>
    line.type === 'welcome'
      ? (line.members as string[]).includes('bot')
      : line.type === 'joined' && line.name === 'bot',
  );
  ana.send('!ping');
  const pong = await ana.waitFor('the pong', (line) => line.type === 'message' && line.from === 'bot');
  t.is(pong.text, 'pong, ana');
});
