/** jest globalSetup: the run's temporary folder (test/tmp-run.ts). */
import { tmpdir } from 'node:os';
import { startTmpRun, type TmpRun } from './tmp-run';

declare global {
  // Read back by test/global-teardown.ts (jest shares globalSetup's globals with globalTeardown only).
  var __pfedloraTmpRun: TmpRun | undefined;
}

export default function globalSetup(): void {
  globalThis.__pfedloraTmpRun = startTmpRun(tmpdir());
}
