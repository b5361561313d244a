/**
 * `npm run mutants`: the property suite against each planted bug in this folder, and the kill rate.
 *
 * Each `*.patch` here is one small, realistic bug: a header (`Mutant:`, `Breaks:`, `When:`) and a
 * unified diff against the engine. For each, the working tree is copied to a scratch folder (the
 * repository itself is never touched), the patch applied there, and `ava --fail-fast properties/` run
 * at the default run count, without shrinking. A mutant is killed when the suite fails. TESTING.md
 * explains the suite and records the figures.
 *
 *   npm run mutants                      every mutant
 *   npm run mutants -- link window       only those whose name holds "link" or "window"
 */
import { execFileSync, spawn } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const MUTANTS = join(ROOT, 'mutants');
/** A mutant that makes the suite run longer than this is counted as killed by the time limit. */
const MUTANT_RUN_MS_MAX = 15 * 60_000;

interface Mutant {
  readonly name: string;
  readonly breaks: string;
  readonly when: string;
  readonly patch: string;
}

type Verdict =
  | { readonly kind: 'killed'; readonly by: string; readonly seconds: number }
  | { readonly kind: 'survived'; readonly seconds: number }
  | { readonly kind: 'broken'; readonly why: string };

function readMutants(filters: readonly string[]): Mutant[] {
  return readdirSync(MUTANTS)
    .filter((file) => file.endsWith('.patch'))
    .sort()
    .map((file) => {
      const patch = join(MUTANTS, file);
      const text = readFileSync(patch, 'utf8');
      const field = (name: string) => new RegExp(`^${name}: (.*)$`, 'm').exec(text)?.[1] ?? '';
      return { name: file.replace(/\.patch$/, ''), breaks: field('Breaks'), when: field('When'), patch };
    })
    .filter((mutant) => filters.length === 0 || filters.some((filter) => mutant.name.includes(filter)));
}

/** The working tree as git sees it (tracked and untracked, not ignored), copied once. */
function copyWorkingTree(): string {
  const base = mkdtempSync(join(tmpdir(), 'gaschat-mutants-'));
  const tree = join(base, 'tree');
  const files = execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard', '-z'], {
    cwd: ROOT,
    encoding: 'utf8',
  })
    .split('\0')
    .filter((file) => file !== '' && !file.startsWith('mutants/'));
  for (const file of files) {
    mkdirSync(dirname(join(tree, file)), { recursive: true });
    try {
      cpSync(join(ROOT, file), join(tree, file));
    } catch {
      // A tracked file deleted in the working tree: it is not part of what is tested.
    }
  }
  symlinkSync(join(ROOT, 'node_modules'), join(tree, 'node_modules'));
  return base;
}

function runSuite(folder: string): Promise<{ code: number | null; output: string; timedOut: boolean }> {
  return new Promise((resolve) => {
    const child = spawn(
      process.execPath,
      [join(ROOT, 'node_modules/ava/entrypoints/cli.mjs'), '--fail-fast', 'properties/**/*.test.ts'],
      { cwd: folder, env: { ...process.env, GASCHAT_NO_SHRINK: '1', FORCE_COLOR: '0' } },
    );
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString('utf8');
    });
    child.stderr.on('data', (chunk: Buffer) => {
      output += chunk.toString('utf8');
    });
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, MUTANT_RUN_MS_MAX);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, output, timedOut });
    });
  });
}

async function judge(mutant: Mutant, base: string): Promise<Verdict> {
  const folder = join(base, mutant.name);
  cpSync(join(base, 'tree'), folder, { recursive: true, verbatimSymlinks: true });
  try {
    execFileSync('git', ['apply', mutant.patch], { cwd: folder, stdio: 'pipe' });
  } catch (error) {
    return { kind: 'broken', why: `the patch no longer applies: ${String(error).split('\n')[0]}` };
  }
  const started = performance.now();
  const { code, output, timedOut } = await runSuite(folder);
  const seconds = (performance.now() - started) / 1000;
  rmSync(folder, { recursive: true, force: true });
  if (timedOut) {
    return { kind: 'killed', by: `the time limit (${MUTANT_RUN_MS_MAX / 60_000} min)`, seconds };
  }
  if (code === 0) {
    return { kind: 'survived', seconds };
  }
  const failed = /✘ \[fail\]: ([^\n]*)/.exec(output)?.[1] ?? /✘ ([^\n]*)/.exec(output)?.[1];
  return { kind: 'killed', by: failed?.trim() ?? `ava exited with ${code}`, seconds };
}

async function main(): Promise<void> {
  const mutants = readMutants(process.argv.slice(2));
  if (mutants.length === 0) {
    console.error('no mutant matches; the mutants are the *.patch files in mutants/');
    process.exitCode = 2;
    return;
  }
  const base = copyWorkingTree();
  console.log(`${mutants.length} mutants, each against the property suite (default run count, no shrinking)`);
  let killed = 0;
  let broken = 0;
  const survivors: Mutant[] = [];
  try {
    for (const [index, mutant] of mutants.entries()) {
      const verdict = await judge(mutant, base);
      const number = `${index + 1}/${mutants.length}`.padStart(7);
      if (verdict.kind === 'killed') {
        killed += 1;
        console.log(`${number} killed    ${mutant.name} (${verdict.seconds.toFixed(0)} s) by: ${verdict.by}`);
      } else if (verdict.kind === 'survived') {
        survivors.push(mutant);
        console.log(`${number} SURVIVED  ${mutant.name} (${verdict.seconds.toFixed(0)} s)`);
      } else {
        broken += 1;
        console.log(`${number} BROKEN    ${mutant.name}: ${verdict.why}`);
      }
    }
  } finally {
    rmSync(base, { recursive: true, force: true });
  }
  const judged = mutants.length - broken;
  console.log(
    `\nkill rate: ${killed} of ${judged} mutants killed (${((100 * killed) / Math.max(1, judged)).toFixed(0)} %)`,
  );
  for (const mutant of survivors) {
    console.log(`  survived: ${mutant.name}\n    breaks: ${mutant.breaks}\n    when:   ${mutant.when}`);
  }
  if (broken > 0) {
    console.log(`${broken} mutants no longer apply to the code: port them (see TESTING.md)`);
    process.exitCode = 1;
  }
}

await main();
