import { readdir, readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import test from 'ava';

const engineRoot = new URL('..', import.meta.url).pathname;

// The engine reaches the world only through the environment it is given: no sockets, no timers, no
// clock, no randomness of its own, no process. Each pattern names what it catches.
const FORBIDDEN: readonly (readonly [RegExp, string])[] = [
  [
    /from\s+['"](node:)?(dgram|net|dns|fs|fs\/promises|child_process|http|https|worker_threads|timers|timers\/promises)['"]/,
    'an I/O or timer module',
  ],
  [/\bimport\(/, 'a dynamic import'],
  // Portable: the engine runs wherever JavaScript does; cryptography comes from @noble, checks from assert.ts.
  [/from\s+['"]node:/, 'a node: module (the engine imports nothing from Node)'],
  [/\bDate\b/, 'Date (time comes from env.now)'],
  [/\bMath\.random\b/, 'Math.random (randomness comes from env.random)'],
  [/\bperformance\b/, 'performance (time comes from env.now)'],
  [/\bprocess\b/, 'process'],
  // A call, not the declaration of the Clock interface's methods (`setTimeout(fn: …)`).
  [
    /(?<![.\w])(setTimeout|setInterval|setImmediate|queueMicrotask|clearTimeout|clearInterval)\s*\((?!\s*\w+\s*:)/,
    'a timer (timers come from the clock)',
  ],
  [
    /\b(randomBytes|randomUUID|getRandomValues|randomInt)\b/,
    'a random source (randomness comes from env.random)',
  ],
  [/\bconsole\b/, 'console (the engine emits events; adapters print)'],
];

async function sourceFiles(directory: string): Promise<string[]> {
  const entries = await readdir(directory, { withFileTypes: true });
  const files: string[] = [];
  for (const entry of entries) {
    const path = join(directory, entry.name);
    if (entry.isDirectory() && entry.name !== 'test') {
      files.push(...(await sourceFiles(path)));
    } else if (entry.isFile() && entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts')) {
      files.push(path);
    }
  }
  return files;
}

/** Source text without comments, so that prose about Date or process does not count. */
function code(source: string): string {
  return source.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:])\/\/.*$/gm, '$1');
}

test('engine/ source touches no socket, timer, clock, random source or process', async (t) => {
  const files = await sourceFiles(engineRoot);
  t.true(files.length >= 10, `expected the engine's sources, found ${files.length}`);
  const violations: string[] = [];
  for (const file of files) {
    const text = code(await readFile(file, 'utf8'));
    for (const [pattern, what] of FORBIDDEN) {
      if (pattern.test(text)) {
        violations.push(`${relative(engineRoot, file)} uses ${what}`);
      }
    }
  }
  t.deepEqual(violations, []);
});

test('the scan catches each forbidden use it claims to', (t) => {
  const samples = [
    "import dgram from 'node:dgram';",
    'const t = Date.now();',
    'const r = Math.random();',
    'setTimeout(() => {}, 1);',
    'process.exit(1);',
    "import { randomBytes } from 'node:crypto';",
    'console.log(1);',
  ];
  for (const sample of samples) {
    t.true(
      FORBIDDEN.some(([pattern]) => pattern.test(code(sample))),
      `not caught: ${sample}`,
    );
  }
  t.false(FORBIDDEN.some(([pattern]) => pattern.test(code('// Date.now() in a comment is prose'))));
});
