/**
 * Tells test/global-teardown.ts whether the run failed (jest calls reporters'
 * onRunComplete before globalTeardown, in the same process), so that the
 * run's temporary folder, with the logs and state a failure names, is kept.
 */
class TmpRunReporter {
  onRunComplete(_contexts, results) {
    const failed = results.numFailedTests;
    const broken = results.numRuntimeErrorTestSuites;
    if (failed + broken > 0) {
      const parts = [];
      if (failed > 0) parts.push(`${failed} test${failed === 1 ? '' : 's'} failed`);
      if (broken > 0) parts.push(`${broken} test file${broken === 1 ? '' : 's'} failed to run`);
      process.env.PFEDLORA_TEST_RUN_FAILED = parts.join(', ');
    }
  }
}
module.exports = TmpRunReporter;
