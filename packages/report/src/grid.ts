/**
 * The reproduction grid: which federations (settings) are run, how a setting
 * is named on disk, and where each (setting, algorithm, seed) cell keeps its
 * result. Pure: no training, no file access.
 */
import { join } from 'node:path';
import { PARTITION_KINDS, type PartitionKind } from '@pfedlora/ml';

export { PARTITION_KINDS };

/** One federation shape of the paper's grid. */
export interface Setting {
  readonly clients: number;
  /** Fraction of clients sampled per round, in (0, 1]. */
  readonly participation: number;
  readonly partition: PartitionKind;
}

/** The paper's (clients, participation) pairs: (10, 100%), (50, 20%), (100, 10%). */
export const PAPER_SHAPES: readonly Pick<Setting, 'clients' | 'participation'>[] = [
  { clients: 10, participation: 1 },
  { clients: 50, participation: 0.2 },
  { clients: 100, participation: 0.1 },
];

/**
 * The folder name of a setting, e.g. `n10-p100-label-skew`. Participation is
 * written in percent with up to one decimal so that names stay short and
 * sortable; two settings that differ below 0.1% would collide, which no
 * sensible grid has.
 */
export function settingId(s: Setting): string {
  const pct = Math.round(s.participation * 1000) / 10;
  return `n${s.clients}-p${String(pct).replace('.', '_')}-${s.partition}`;
}

/** How a setting reads in tables: "N=10, 100%, label skew (2 classes/client)". */
export function settingLabel(s: Setting, detail: { classesPerClient: number; dirichletAlpha: number }): string {
  const pct = Math.round(s.participation * 1000) / 10;
  const partition =
    s.partition === 'label-skew' ? `label skew (${detail.classesPerClient} classes/client)` : s.partition === 'dirichlet' ? `Dirichlet(${detail.dirichletAlpha})` : 'by group (mailbox set)';
  return `N=${s.clients}, ${pct}%, ${partition}`;
}

/**
 * Parses `--settings`: a comma list of `N:F` (expanded over `partitions`) or
 * `N:F:PARTITION` (exactly that partition). Returns settings in the order
 * given, duplicates dropped. Throws an Error naming the bad token.
 */
export function parseSettings(text: string, partitions: readonly PartitionKind[]): Setting[] {
  const out: Setting[] = [];
  const seen = new Set<string>();
  const add = (s: Setting) => {
    const id = settingId(s);
    if (!seen.has(id)) {
      seen.add(id);
      out.push(s);
    }
  };
  const tokens = text.split(',').map((t) => t.trim()).filter((t) => t !== '');
  if (tokens.length === 0) throw new Error('expects at least one N:F or N:F:PARTITION');
  for (const token of tokens) {
    const parts = token.split(':');
    const [n, f, p] = parts;
    const clients = Number(n);
    const participation = Number(f);
    if (parts.length < 2 || parts.length > 3 || !Number.isInteger(clients) || clients < 1 || !(participation > 0 && participation <= 1)) {
      throw new Error(`bad setting "${token}": expected N:F or N:F:PARTITION with N a positive integer and F in (0, 1], e.g. 10:1 or 50:0.2:dirichlet`);
    }
    if (p !== undefined) {
      if (!(PARTITION_KINDS as readonly string[]).includes(p)) throw new Error(`bad setting "${token}": partition must be one of ${PARTITION_KINDS.join(', ')}`);
      add({ clients, participation, partition: p as PartitionKind });
    } else {
      for (const partition of partitions) add({ clients, participation, partition });
    }
  }
  return out;
}

/** Formats settings back into the `--settings` syntax (for messages and the report). */
export function formatSettings(settings: readonly Setting[]): string {
  return settings.map((s) => `${s.clients}:${s.participation}:${s.partition}`).join(',');
}

/** One run of the grid. */
export interface Cell {
  readonly setting: Setting;
  readonly algorithm: string;
  readonly seed: number;
}

/** OUT/runs/<setting>/<algorithm>/seed-<s>: where a cell's result.json and rounds.csv live. */
export function cellDir(out: string, cell: Cell): string {
  return join(out, 'runs', settingId(cell.setting), cell.algorithm, `seed-${cell.seed}`);
}

/**
 * Settings x seeds x algorithms, in that nesting: a setting's table fills up
 * first, and within it every algorithm gets seed 1 before any gets seed 2, so
 * a grid stopped half way still compares all algorithms on equal seeds.
 */
export function gridCells(settings: readonly Setting[], algorithms: readonly string[], seeds: readonly number[]): Cell[] {
  const cells: Cell[] = [];
  for (const setting of settings) for (const seed of seeds) for (const algorithm of algorithms) cells.push({ setting, algorithm, seed });
  return cells;
}
