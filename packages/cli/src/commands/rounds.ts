/** `pfedlora rounds start|pause|resume|abort|status`: operate the coordinator's run. */
import type { RunStatusInfo } from '@pfedlora/protocol';
import { formatPercent } from '@pfedlora/core';
import { admin } from '../admin-client';
import { boolFlag, floatFlag, helpText, intFlag, parseActionCommand, stringFlag, type FlagSpecs } from '../args';
import { OPERATOR_FLAGS, operatorConnection, wantsJson } from './operator-flags';

const FLAGS: FlagSpecs = {
  ...OPERATOR_FLAGS,
  'run-id': { type: 'string', value: 'ID', help: 'act only if this is the active run (start: the new run id)' },
  rounds: { type: 'string', value: 'R', help: 'start: rounds of the new run (default: the coordinator\'s)' },
  'min-clients': { type: 'string', value: 'N', help: 'start: reports a round needs at its deadline' },
  participation: { type: 'string', value: 'F', help: 'start: fraction of clients sampled per round' },
  seed: { type: 'string', value: 'S', help: 'start: seed of the new run' },
  reason: { type: 'string', value: 'TEXT', help: 'abort: why (logged, sent to clients)' },
  watch: { type: 'boolean', help: 'status: keep printing the status as it changes (NDJSON with --json)' },
};

const ACTIONS = ['start', 'pause', 'resume', 'abort', 'status'] as const;

const HELP = helpText(
  'pfedlora rounds <start|pause|resume|abort|status> [options]',
  [
    "Operates the coordinator's run over its Admin service (PFEDLORA_ADMIN_TOKEN carries the operator token).",
    '  start   start a run (the coordinator runs --idle, or its last run ended)',
    '  pause   stop starting rounds once the round in flight closes; clients stay connected',
    '  resume  start rounds again',
    '  abort   cancel the round in flight and end the run',
    '  status  one line (or --watch) about the run; --json prints the documented RunStatus object',
    'Exit codes: 0 ok, 2 usage, 3 coordinator unreachable, 4 refused (e.g. already paused, no run), 5 bad credential (token or certificate) or a TLS refusal (TLS/plaintext mismatch, certificate of another CA).',
  ].join('\n'),
  FLAGS,
);

export function describeStatus(s: RunStatusInfo): string {
  const parts = [`run ${s.runId || '(none)'}`, s.phase + (s.pauseRequested ? ' (pausing after this round)' : ''), `round ${s.roundsCompleted}/${s.roundsTotal} done`];
  if (s.inFlight) parts.push(`round ${s.inFlight.round}${s.inFlight.attempt > 1 ? ` attempt ${s.inFlight.attempt}` : ''} in flight: ${s.inFlight.reported}/${s.inFlight.participants} reported`);
  parts.push(`${s.connectedClients} clients connected`);
  if (s.lastMeanAccuracy !== null) parts.push(`last accuracy ${formatPercent(s.lastMeanAccuracy)}`);
  if (s.lastMeanMacroF1 !== null) parts.push(`last macro-F1 ${formatPercent(s.lastMeanMacroF1)}`);
  if (s.resumedFromRound !== null) parts.push(`resumed from round ${s.resumedFromRound}`);
  return parts.join(', ');
}

export async function rounds(argv: readonly string[]): Promise<number> {
  const parsed = parseActionCommand(argv, FLAGS, 'rounds', ACTIONS, HELP);
  if ('exitCode' in parsed) return parsed.exitCode;
  const { flags, action } = parsed;
  const json = wantsJson(flags);
  const runId = stringFlag(flags, 'run-id') ?? '';
  const conn = operatorConnection(flags);
  const print = (s: RunStatusInfo) => process.stdout.write((json ? JSON.stringify(s) : describeStatus(s)) + '\n');
  try {
    switch (action) {
      case 'start': {
        const minClients = stringFlag(flags, 'min-clients');
        const participation = stringFlag(flags, 'participation');
        const roundsText = stringFlag(flags, 'rounds');
        const seed = stringFlag(flags, 'seed');
        print(
          await admin.start(conn, {
            ...(roundsText === undefined ? {} : { rounds: intFlag(flags, 'rounds', 1, 1) }),
            ...(minClients === undefined ? {} : { minClients: intFlag(flags, 'min-clients', 1, 1) }),
            ...(participation === undefined ? {} : { participation: floatFlag(flags, 'participation', 1, (n) => n > 0 && n <= 1, 'a fraction in (0, 1]') }),
            ...(seed === undefined ? {} : { seed: intFlag(flags, 'seed', 1, 1) }),
            ...(runId ? { runId } : {}),
          }),
        );
        break;
      }
      case 'pause':
        print(await admin.pause(conn, runId));
        break;
      case 'resume':
        print(await admin.resume(conn, runId));
        break;
      case 'abort':
        print(await admin.abort(conn, runId, stringFlag(flags, 'reason') ?? ''));
        break;
      case 'status':
        if (boolFlag(flags, 'watch')) await admin.watch(conn, print);
        else print(await admin.status(conn));
        break;
    }
    return 0;
  } finally {
    conn.close();
  }
}
