import { createClient, say } from 'gaschat';
import { openUdp, realEnvironment } from 'gaschat/udp';

const [host = '127.0.0.1', port = '8080'] = process.argv.slice(2);
const udp = await openUdp({ host: host.includes(':') ? '::' : '0.0.0.0', port: 0 });
const server = { host, port: Number(port) };
const bot = createClient({ name: 'bot', password: 'rahasia', server }, realEnvironment(udp.port));
udp.onDatagram((datagram, from) => bot.send({ type: 'datagram.received', datagram, from }));
bot.on('welcome', (w) => console.log(`bot: in the room with ${w.members.join(', ')}; say !ping`));
bot.on('message', (m) => {
  if (!m.self && m.text === '!ping') say(bot, `pong, ${m.from}`);
});
bot.on('closed', (e) => udp.close().then(() => console.log(`bot: ${e.message}`)));
process.once('SIGINT', () => bot.send({ type: 'chat.quit' }));
bot.start();
