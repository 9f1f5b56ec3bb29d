/**
 * The run's settings as flags (generated from RUN_FIELDS in @pfedlora/core),
 * --log-level and --help: what the coordinator command shares with the
 * training commands, without the training engine (`@pfedlora/ml/server`
 * only), so `pfedlora coordinator` never loads tfjs. shared.ts re-exports it.
 */
import { DEFAULT_RUN, RUN_FIELD_NAMES, RUN_FIELDS, type RunField, type RunFieldName, type RunSpec } from '@pfedlora/core';
import { ADAPTER_SHARES, ALGORITHM_NAMES, type AdapterShare, type AlgorithmName } from '@pfedlora/ml/server';
import { LOG_LEVELS, type LogLevel } from '@pfedlora/telemetry';
import { choiceFlag, floatFlag, intFlag, type FlagSpecs, type ParsedFlags } from '../args';

/** The run's defaults (a simulation's and a coordinator's alike). */
const d = DEFAULT_RUN;

/**
 * The run's settings as flags, generated from their one declaration
 * (RUN_FIELDS in @pfedlora/core): each flag's help, default and check.
 * `algorithm` takes @pfedlora/ml's algorithm names.
 */
function runFieldChoices(name: RunFieldName): readonly string[] | undefined {
  const field: RunField = RUN_FIELDS[name];
  if (field.kind !== 'choice') return undefined;
  return name === 'algorithm' ? ALGORITHM_NAMES : name === 'adapterShare' ? ADAPTER_SHARES : field.choices;
}

function runFlagSpecs(names: readonly RunFieldName[]): FlagSpecs {
  const specs: FlagSpecs = {};
  for (const name of names) {
    const field: RunField = RUN_FIELDS[name];
    const choices = runFieldChoices(name);
    const help = choices ? `${field.help}: ${choices.join(', ')}` : field.help;
    specs[field.flag] = { type: 'string', value: field.value, help, default: String(d[name]) };
  }
  return specs;
}

/** Reads `names` from the flags (absent: the default), checked as declared. */
function readRunFlags(flags: ParsedFlags, names: readonly RunFieldName[]): Partial<RunSpec> {
  const out: Record<string, string | number> = {};
  for (const name of names) {
    const field: RunField = RUN_FIELDS[name];
    const fallback = d[name];
    let value: string | number;
    if (field.kind === 'choice') value = choiceFlag(flags, field.flag, runFieldChoices(name)!, fallback as string);
    else if (field.kind === 'int') value = intFlag(flags, field.flag, fallback as number, field.min, field.max);
    else value = floatFlag(flags, field.flag, fallback as number, field.check, field.expected);
    out[name] = value;
  }
  return out as Partial<RunSpec>;
}

/** The local training schedule and the adapter's shape, whatever the algorithm. */
const SCHEDULE_FIELDS = RUN_FIELD_NAMES.filter((n) => !['algorithm', 'rounds', 'seed'].includes(n));
/** How every client trains, set once per run (simulation, cluster or coordinator); each command declares its own --rounds. */
const TRAINING_FIELDS = RUN_FIELD_NAMES.filter((n) => n !== 'rounds');

export const SCHEDULE_FLAGS: FlagSpecs = runFlagSpecs(SCHEDULE_FIELDS);
export const TRAINING_FLAGS: FlagSpecs = runFlagSpecs(TRAINING_FIELDS);

export type ScheduleFlags = Omit<RunSpec, 'algorithm' | 'rounds' | 'seed' | 'adapterShare'> & { readonly adapterShare: AdapterShare };

export function scheduleFlags(flags: ParsedFlags): ScheduleFlags {
  return readRunFlags(flags, SCHEDULE_FIELDS) as ScheduleFlags;
}

export interface TrainingFlags extends ScheduleFlags {
  readonly algorithm: AlgorithmName;
  readonly seed: number;
}

export function trainingFlags(flags: ParsedFlags): TrainingFlags {
  return readRunFlags(flags, TRAINING_FIELDS) as TrainingFlags;
}

/** The flags that give `spec` to another pfedlora process (a cluster's coordinator). */
export function trainingArgs(spec: TrainingFlags): string[] {
  return TRAINING_FIELDS.flatMap((name) => [`--${RUN_FIELDS[name].flag}`, String(spec[name])]);
}

export const LOG_FLAG: FlagSpecs = {
  'log-level': { type: 'string', value: 'LEVEL', help: LOG_LEVELS.join(', '), default: 'info' },
};

export function logLevelFlag(flags: ParsedFlags): LogLevel {
  return choiceFlag(flags, 'log-level', LOG_LEVELS, 'info');
}

export const HELP_FLAG: FlagSpecs = {
  help: { type: 'boolean', short: 'h', help: 'show this help' },
};
