/** `pfedlora clients list|evict`: the clients the coordinator knows. */
import { formatBytes } from '@pfedlora/core';
import { admin } from '../admin-client';
import { boolFlag, helpText, parseFlags, stringFlag, type FlagSpecs } from '../args';
import { UsageError } from '../errors';
import { table } from '../format';
import { OPERATOR_FLAGS, operatorConnection, wantsJson } from './operator-flags';

const FLAGS: FlagSpecs = {
  ...OPERATOR_FLAGS,
  reason: { type: 'string', value: 'TEXT', help: 'evict: why (logged)' },
};

const HELP = helpText(
  'pfedlora clients list | pfedlora clients evict CLIENT_ID [--reason TEXT]',
  "Lists the clients that joined the coordinator (model, backend, state, last seen, bytes, rounds), or evicts one:\nit is dropped from the round in flight and refused until the run ends. --json prints the documented array.\nExit codes: 0 ok, 2 usage, 3 coordinator unreachable, 4 refused (unknown client), 5 bad credential (token or certificate) or a TLS refusal (TLS/plaintext mismatch, certificate of another CA).",
  FLAGS,
);

function ago(unixMs: number): string {
  const s = Math.max(0, (Date.now() - unixMs) / 1000);
  return s < 60 ? `${s.toFixed(0)}s ago` : s < 3600 ? `${(s / 60).toFixed(0)}m ago` : `${(s / 3600).toFixed(1)}h ago`;
}

export async function clients(argv: readonly string[]): Promise<number> {
  const { flags, positionals } = parseFlags(argv, FLAGS, 'clients');
  const [action, clientId, extra] = positionals;
  if (boolFlag(flags, 'help') || action === undefined) {
    process.stdout.write(HELP);
    return action === undefined && !boolFlag(flags, 'help') ? 2 : 0;
  }
  if (action !== 'list' && action !== 'evict') throw new UsageError(`unknown action "${action}": expected list or evict`);
  if (action === 'evict' && !clientId) throw new UsageError('evict needs a CLIENT_ID');
  if ((action === 'list' && clientId) || extra) throw new UsageError(`unexpected argument "${extra ?? clientId}"`);
  const json = wantsJson(flags);
  const conn = operatorConnection(flags);
  try {
    if (action === 'evict') {
      const r = await admin.evict(conn, clientId!, stringFlag(flags, 'reason') ?? '');
      process.stdout.write((json ? JSON.stringify({ clientId, evicted: r.evicted, message: r.message }) : r.message) + '\n');
      return 0;
    }
    const list = await admin.listClients(conn);
    if (json) {
      process.stdout.write(JSON.stringify(list) + '\n');
      return 0;
    }
    if (list.length === 0) {
      process.stdout.write('no client has joined yet\n');
      return 0;
    }
    process.stdout.write(
      table(
        ['client', 'model', 'backend', 'samples', 'state', 'last seen', 'rounds', 'down', 'up'],
        list.map((c) => [c.clientId, c.modelKind, c.backend, String(c.numSamples), c.state, ago(c.lastSeenUnixMs), `${c.roundsReported}/${c.roundsJoined}`, formatBytes(c.bytesDown), formatBytes(c.bytesUp)]),
      ) + '\n',
    );
    return 0;
  } finally {
    conn.close();
  }
}
