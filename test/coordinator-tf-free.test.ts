/**
 * A real `pfedlora coordinator` process (the build) never loads the training
 * engine: once it logs 'coordinator listening', no module of @tensorflow/*
 * (nor @pfedlora/ml's full index, nor the client package) is loaded. The
 * coordinator imports the algorithms' server halves from `@pfedlora/ml/server`
 * (docs/architecture.md, "Algorithm plug-ins"); packages/coordinator/src/
 * module-graph.test.ts checks the sources the same way.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PfedloraProcess } from './processes';

/** Preloaded into the coordinator: right after its 'coordinator listening' line, one line listing every module loaded. */
const REPORT_MODULES = `
const write = process.stdout.write.bind(process.stdout);
let reported = false;
process.stdout.write = (chunk, ...rest) => {
  const result = write(chunk, ...rest);
  if (!reported && String(chunk).includes('"coordinator listening"')) {
    reported = true;
    write(JSON.stringify({ message: 'loaded modules', modules: Object.keys(require.cache) }) + '\\n');
  }
  return result;
};
`;

let dir: string;
let coordinator: PfedloraProcess | undefined;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'pfedlora-tf-free-'));
  writeFileSync(join(dir, 'report-modules.js'), REPORT_MODULES);
});

afterEach(async () => {
  coordinator?.kill('SIGKILL');
  await coordinator?.closed;
  coordinator = undefined;
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

test.each(['pfedlora', 'fedkd', 'fedgh'])('a %s coordinator process loads no tfjs module', async (algorithm) => {
  coordinator = new PfedloraProcess(
    'coordinator',
    ['coordinator', '--insecure', '--port', '0', '--admin-port', 'off', '--rounds', '1', '--min-clients', '1', '--wait-clients', '2', '--algorithm', algorithm],
    { NODE_OPTIONS: `--require ${join(dir, 'report-modules.js')}` },
  );
  const line = await coordinator.waitForMessage('loaded modules', 60_000);
  const modules = line['modules'] as string[];
  expect(modules.some((m) => /[\\/]packages[\\/]coordinator[\\/]dist[\\/]coordinator\.js$/.test(m))).toBe(true);
  expect(modules.some((m) => /[\\/]packages[\\/]ml[\\/]dist[\\/]server\.js$/.test(m))).toBe(true);
  expect(modules.filter((m) => /[\\/]@tensorflow[\\/]/.test(m))).toEqual([]);
  expect(modules.filter((m) => /[\\/]packages[\\/](ml[\\/]dist[\\/]index|client[\\/]dist[\\/])/.test(m))).toEqual([]);
});
