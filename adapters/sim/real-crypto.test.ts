import test from 'ava';
import fc from 'fast-check';
import { NO_FAULTS, scenarioArbWith } from './arbitraries/scenario.ts';
import { checkRun } from './check.ts';
import { runScenario } from './run.ts';

// The properties run the simulator with stand-ins for CPace and Ed25519 (sim-crypto.ts), which cost
// milliseconds each. These runs use the real ones throughout, so that the machines are shown to work
// with the protocol's own cryptography in the simulator too, under loss and with wrong passwords.

const scenarios = fc.sample(
  scenarioArbWith(
    { clientCount: 3, messageCount: 3, activeMs: 5000, calmMs: 20_000 },
    { ...NO_FAULTS, lossPercent: 10, wrongPasswords: true },
  ),
  { seed: 20261202, numRuns: 12 },
);

test('with the real CPace and Ed25519, every guarantee holds, members get in and chat, and wrong passwords are told so', (t) => {
  let welcomed = 0;
  let messages = 0;
  let wrongPasswordsTold = 0;
  for (const scenario of scenarios) {
    const run = runScenario(scenario, { realCrypto: true });
    t.deepEqual(checkRun(run), [], `seed ${scenario.seed}`);
    for (const client of run.clients) {
      for (const { event } of client.events) {
        welcomed += event.type === 'welcome' ? 1 : 0;
        messages += event.type === 'message' ? 1 : 0;
        wrongPasswordsTold += event.type === 'rejected' && event.reason === 'bad-password' ? 1 : 0;
      }
    }
  }
  // What the runs must have done for the test to mean anything.
  t.true(welcomed >= 12, `${welcomed} welcomes`);
  t.true(messages >= 12, `${messages} messages shown`);
  t.true(wrongPasswordsTold >= 1, `${wrongPasswordsTold} clients told their password is wrong`);
});
