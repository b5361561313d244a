import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import test from 'ava';

// The planted bugs of `npm run mutants` are patches against the engine: a change to the code they
// touch can leave one that no longer applies, and `npm run mutants` (not part of `npm test`) would
// only then report it as broken. Each must apply to today's tree and say what it breaks.

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const MUTANTS = join(ROOT, 'mutants');
const patches = readdirSync(MUTANTS).filter((file) => file.endsWith('.patch'));

test('there are planted bugs to run', (t) => {
  t.true(patches.length >= 20, `only ${patches.length} patches in mutants/`);
});

for (const file of patches) {
  test(`mutant ${file} applies to the engine as it is today and names what it breaks`, (t) => {
    const text = readFileSync(join(MUTANTS, file), 'utf8');
    for (const header of ['Mutant:', 'Breaks:', 'When:']) {
      t.regex(text, new RegExp(`^${header} \\S`, 'm'), `${file} has no "${header}" line`);
    }
    const check = spawnSync('git', ['apply', '--check', join(MUTANTS, file)], {
      cwd: ROOT,
      encoding: 'utf8',
    });
    t.is(check.status, 0, `${file} does not apply: ${check.stderr.trim()}`);
  });
}
