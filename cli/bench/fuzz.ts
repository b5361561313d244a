import { parseArgs } from 'node:util';
import { fuzzRoom } from '../../adapters/udp/fuzz.ts';

// `npm run fuzz -- [--datagrams N] [--members M] [--lines L]`: the deep fuzz of a live room (the suite
// runs 20,000 datagrams, adapters/udp/fuzz.test.ts). Prints what it sent, what the server dropped, and
// the process's heap and RSS before and after the flood; exits 1 if a guarantee broke.

const { values } = parseArgs({
  options: {
    datagrams: { type: 'string', default: '1000000' },
    members: { type: 'string', default: '3' },
    lines: { type: 'string', default: '100' },
  },
});
const whole = (text: string, name: string) => {
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < 1) {
    console.error(`--${name} is ${JSON.stringify(text)}; it must be a whole number of at least 1`);
    process.exit(2);
  }
  return value;
};
const datagrams = whole(values.datagrams, 'datagrams');
const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)} MiB`;

const report = await fuzzRoom({
  datagrams,
  members: whole(values.members, 'members'),
  linesEach: whole(values.lines, 'lines'),
  deadlineMs: 3_600_000,
  onProgress: (sent) => {
    if (sent % 100_000 === 0) {
      process.stderr.write(`\r${sent.toLocaleString('en-US')} of ${datagrams.toLocaleString('en-US')} sent`);
    }
  },
});
process.stderr.write('\n');
const dropped = Object.values(report.dropped).reduce((sum, count) => sum + count, 0);
const shownTwice = [...report.shown.values()].some((lines) => new Set(lines).size !== lines.length);
const complete = [...report.shown.values()].every((lines) => lines.length === report.said.length);
console.log(
  `hostile datagrams sent      ${report.sent.toLocaleString('en-US')} (${report.mutatedCopies.toLocaleString('en-US')} mutated copies of real ones)`,
);
console.log(
  `counted dropped by server   ${dropped.toLocaleString('en-US')}: ${Object.entries(report.dropped)
    .filter(([, count]) => count > 0)
    .map(([reason, count]) => `${reason} ${count.toLocaleString('en-US')}`)
    .join(', ')}`,
);
console.log(`lines said / relayed        ${report.said.length} / ${report.stats.messagesRelayed}`);
console.log(
  `every member saw every line ${complete ? 'yes' : 'NO'}; a line shown twice ${shownTwice ? 'YES' : 'no'}; troubles ${report.troubles.length === 0 ? 'none' : report.troubles.join('; ')}`,
);
console.log(
  `heap used                   ${mib(report.memoryBefore.heapUsed)} before, ${mib(report.memoryAfter.heapUsed)} after`,
);
console.log(
  `RSS                         ${mib(report.memoryBefore.rss)} before, ${mib(report.memoryAfter.rss)} after`,
);
console.log(
  `elapsed                     ${(report.elapsedMs / 1000).toFixed(1)} s (${Math.round(report.sent / (report.elapsedMs / 1000)).toLocaleString('en-US')} hostile datagrams/s)`,
);
process.exitCode = report.finished && complete && !shownTwice && report.troubles.length === 0 ? 0 : 1;
