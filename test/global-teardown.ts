/** jest globalTeardown: removes the run's temporary folder (test/tmp-run.ts); prints only when it keeps it or finds strays. */
import { describeTmpRunEnd, endTmpRun } from './tmp-run';

export default function globalTeardown(): void {
  const run = globalThis.__pfedloraTmpRun;
  if (run === undefined) return;
  globalThis.__pfedloraTmpRun = undefined;
  for (const line of describeTmpRunEnd(run, endTmpRun(run))) process.stderr.write(line + '\n');
}
