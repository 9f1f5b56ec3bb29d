/** `pfedlora cluster` (what `npm start` runs): real coordinator and client processes, end to end. */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { runCli } from './helpers';

jest.setTimeout(240_000);

test('cluster --json runs every round over gRPC and reports each one', async () => {
  const { code, stdout, stderr } = await runCli(['cluster', '--clients', '2', '--rounds', '2', '--max-samples', '64', '--batch-size', '32', '--data-dir', 'subset', '--json'], { timeoutMs: 200_000 });
  expect(stderr).not.toMatch(/error/i);
  expect(code).toBe(0);
  const result = JSON.parse(stdout);
  expect(result.rounds.map((r: { round: number; reported: number }) => [r.round, r.reported])).toEqual([[1, 2], [2, 2]]);
  expect(result.totals.bytesUp).toBeGreaterThan(0);
  expect(result.final.meanAccuracy).toBeGreaterThan(0);
  expect(existsSync(join(result.logDir, 'coordinator.log'))).toBe(true);
  expect(existsSync(join(result.logDir, 'client-1.log'))).toBe(true);
});
