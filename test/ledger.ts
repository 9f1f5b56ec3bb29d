/**
 * What a coordinator's state dir says after a run, for end-to-end tests: the
 * ledger, each round's global payload, and the independent check that a
 * round's global is the previous one plus the sample-weighted mean of the
 * deltas the clients dumped (--dump-updates), each tensor over the clients
 * that sent it.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { decodeTensors, type NamedTensor } from '@pfedlora/core';

export interface LedgerEntry {
  round: number;
  reported: number;
  participants: number;
  meanAccuracy: number;
  meanMacroF1?: number;
  globalSha256: string;
  clients: Array<{ clientId: string; modelKind: string; status: string; numSamples: number; bytesUp: number; accuracy?: number; macroF1?: number }>;
}

export async function readLedger(stateDir: string): Promise<LedgerEntry[]> {
  return (await readFile(join(stateDir, 'ledger.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as LedgerEntry);
}

export async function globalAfter(stateDir: string, round: number): Promise<NamedTensor[]> {
  return decodeTensors(await readFile(join(stateDir, 'rounds', `global-${String(round).padStart(5, '0')}.pflt`)));
}

/**
 * Recomputes every round's global from `initial` and the deltas in `dumps`
 * (client id -> its --dump-updates folder) weighted by the ledger's sample
 * counts, and returns the largest difference from what the coordinator saved
 * and each round's deltas (in `dumps` order).
 */
export async function weightedMeanError(stateDir: string, initial: NamedTensor[], dumps: ReadonlyMap<string, string>): Promise<{ worst: number; deltas: NamedTensor[][][] }> {
  let previous = initial;
  let worst = 0;
  const all: NamedTensor[][][] = [];
  for (const round of await readLedger(stateDir)) {
    const deltas = await Promise.all(
      [...dumps].map(async ([id, dir]) => {
        const file = (await readdir(dir)).find((f) => f.startsWith(`update-r${String(round.round).padStart(5, '0')}-`));
        if (!file) throw new Error(`${id} dumped no update for round ${round.round}`);
        const weight = round.clients.find((c) => c.clientId === id)!.numSamples;
        return { tensors: decodeTensors(await readFile(join(dir, file))), weight };
      }),
    );
    // Each tensor over the clients that sent it (all of them, except for pfedlora-qv's groups); one nobody sent stays.
    const expected = previous.map((t) => {
      const having = deltas.map((d) => ({ weight: d.weight, delta: d.tensors.find((u) => u.name === t.name) })).filter((h) => h.delta);
      const total = having.reduce((s, h) => s + h.weight, 0);
      return { ...t, values: Float32Array.from(t.values, (v, j) => v + (total && having.reduce((s, h) => s + h.weight * h.delta!.values[j]!, 0) / total)) };
    });
    const actual = await globalAfter(stateDir, round.round);
    if (actual.map((t) => t.name).join() !== expected.map((t) => t.name).join()) throw new Error(`round ${round.round}: global holds ${actual.map((t) => t.name)}`);
    actual.forEach((t, i) => t.values.forEach((v, j) => (worst = Math.max(worst, Math.abs(v - expected[i]!.values[j]!)))));
    all.push(deltas.map((d) => d.tensors));
    previous = actual;
  }
  return { worst, deltas: all };
}
