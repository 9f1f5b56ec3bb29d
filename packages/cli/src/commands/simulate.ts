/** `pfedlora simulate`: an in-process federation for research. */
import { join } from 'node:path';
import { formatBytes, formatCount, formatPercent } from '@pfedlora/core';
import {
  DEFAULT_SIMULATION,
  runSimulation,
  type ClientSummary,
  type RoundRecord,
  type SimulationConfig,
} from '@pfedlora/ml';
import { writeSimulationOutputs } from '@pfedlora/report';
import { boolFlag, floatFlag, helpText, intFlag, parseFlags, stringFlag, type FlagSpecs } from '../args';
import { table } from '../format';
import { createProgressBar } from '../progress';
import { backendFlag, BACKEND_FLAG, DATA_FLAGS, dataFlags, HELP_FLAG, MODELS_FLAGS, modelsFlag, representationLayerFlag, THREADS_FLAG, threadsFlag, TRAINING_FLAGS, trainingFlags } from './shared';

const d = DEFAULT_SIMULATION;

export const SIMULATE_FLAGS: FlagSpecs = {
  ...DATA_FLAGS,
  clients: { type: 'string', value: 'N', help: 'number of clients', default: String(d.clients) },
  participation: { type: 'string', value: 'F', help: 'fraction of clients sampled each round, (0, 1]', default: String(d.participation) },
  rounds: { type: 'string', value: 'R', help: 'communication rounds', default: String(d.rounds) },
  ...MODELS_FLAGS,
  ...TRAINING_FLAGS,
  ...BACKEND_FLAG,
  workers: { type: 'string', value: 'N', help: "worker threads training clients in parallel (0: this thread; auto: one per core)", default: 'auto' },
  ...THREADS_FLAG,
  out: { type: 'string', value: 'DIR', help: 'write result.json and rounds.csv there' },
  json: { type: 'boolean', help: 'print one JSON object instead of tables' },
  ...HELP_FLAG,
};

export const SIMULATE_HELP = helpText(
  'pfedlora simulate [options]',
  'Runs a whole federation in this process: partitions the dataset over the clients, trains each\nround with the chosen algorithm and reports mean personalized test accuracy, bytes and FLOPs.',
  SIMULATE_FLAGS,
);

export function simulationConfigFromFlags(argv: readonly string[]): { config: SimulationConfig; json: boolean; out?: string; help: boolean } {
  const { flags } = parseFlags(argv, SIMULATE_FLAGS, 'simulate');
  const modelsText = stringFlag(flags, 'models');
  const workers = stringFlag(flags, 'workers');
  const config: SimulationConfig = {
    ...d,
    ...dataFlags(flags),
    ...trainingFlags(flags),
    clients: intFlag(flags, 'clients', d.clients, 1),
    participation: floatFlag(flags, 'participation', d.participation, (n) => n > 0 && n <= 1, 'a fraction in (0, 1]'),
    rounds: intFlag(flags, 'rounds', d.rounds, 1),
    models: modelsText ? modelsFlag(modelsText) : [],
    ...representationLayerFlag(flags),
    backend: backendFlag(flags),
    workers: workers === undefined || workers === 'auto' ? 'auto' : intFlag(flags, 'workers', 0, 0),
    threads: threadsFlag(flags),
  };
  const out = stringFlag(flags, 'out');
  return { config, json: boolFlag(flags, 'json'), help: boolFlag(flags, 'help'), ...(out === undefined ? {} : { out }) };
}

function roundRow(r: RoundRecord): string[] {
  return [String(r.round), formatPercent(r.meanAccuracy), formatPercent(r.meanMacroF1), r.meanTrainLoss.toFixed(4), formatBytes(r.bytesUp), formatBytes(r.bytesDown), formatCount(r.trainFlops), r.seconds.toFixed(1)];
}

/** How far above 1/k (k: the client's classes) an accuracy still counts as guessing: 2 points. */
export const CHANCE_MARGIN = 0.02;

/**
 * The note printed after the results when clients score no better than
 * guessing among their own classes (e.g. exactly 50.00% on 2 classes: the
 * model answers one class for everything), which a short run such as
 * `--rounds 2 --max-samples 200` produces and which looks like a broken
 * program; undefined when every client learned something. Clients with one
 * class or not evaluated yet are left out.
 */
export function chanceNote(clients: readonly Pick<ClientSummary, 'classes' | 'accuracy'>[], maxTrainSamples: number): string | undefined {
  const atChance = clients.filter((c) => c.classes.length >= 2 && Number.isFinite(c.accuracy) && c.accuracy <= 1 / c.classes.length + CHANCE_MARGIN);
  if (atChance.length === 0) return undefined;
  const ks = [...new Set(atChance.map((c) => c.classes.length))].sort((a, b) => a - b);
  const chance =
    ks.length === 1
      ? `${formatPercent(1 / ks[0]!)} with ${ks[0]} classes`
      : `guessing among their classes: ${ks.map((k) => `${formatPercent(1 / k)} with ${k}`).join(', ')}`;
  const all = atChance.length === clients.length;
  const verb = atChance.length === 1 ? 'is' : 'are';
  const tries = maxTrainSamples > 0 ? 'more --rounds or --max-samples 0 (no cap on the train split)' : 'more --rounds or --local-epochs';
  return (
    `note: ${atChance.length} of ${clients.length} client${clients.length === 1 ? '' : 's'} ${verb} at chance (${chance}): ` +
    `${all ? 'the run is undertrained' : atChance.length === 1 ? 'that model is undertrained' : 'those models are undertrained'}; try ${tries}`
  );
}

const ROUND_HEADER = ['round', 'accuracy', 'macro-F1', 'train loss', 'bytes up', 'bytes down', 'FLOPs', 'seconds'];

export async function simulate(argv: readonly string[], stdout: NodeJS.WritableStream = process.stdout): Promise<number> {
  const { config, json, out, help } = simulationConfigFromFlags(argv);
  if (help) {
    stdout.write(SIMULATE_HELP);
    return 0;
  }
  const bar = createProgressBar();
  if (!json) {
    stdout.write(`pfedlora simulate: ${config.algorithm} on ${config.dataset}, ${config.clients} clients, ${config.rounds} rounds, ${config.partition}\n`);
  }
  let printedHeader = false;
  const result = await runSimulation(config, {
    onProgress: (p) => bar.update((p.round - 1 + p.done / p.of) / p.rounds, `round ${p.round}/${p.rounds} client ${p.done}/${p.of}`),
    onRound: (r) => {
      if (json) return;
      const lines = table(ROUND_HEADER, [roundRow(r)]).split('\n');
      const text = printedHeader ? lines[2]! : lines.join('\n');
      printedHeader = true;
      bar.log('');
      stdout.write(text + '\n');
    },
  });
  bar.done();
  if (out) await writeSimulationOutputs(out, result);
  if (json) {
    stdout.write(JSON.stringify(result) + '\n');
    return 0;
  }
  stdout.write(`\nengine: ${result.engine.backend}   data: ${result.dataSource}\n`);
  stdout.write(
    table(
      ['client', 'model', 'classes', 'train', 'test', 'private model', 'accuracy', 'macro-F1'],
      result.clients.map((c) => [
        String(c.client),
        c.model,
        c.classes.join(','),
        String(c.trainSamples),
        String(c.testSamples),
        formatBytes(c.privateModelBytes),
        formatPercent(c.accuracy),
        formatPercent(c.macroF1),
      ]),
    ) + '\n',
  );
  const lastParticipants = result.rounds[result.rounds.length - 1]!.participants.length;
  stdout.write(
    `\nfinal mean accuracy ${formatPercent(result.final.meanAccuracy)}, macro-F1 ${formatPercent(result.final.meanMacroF1)} after round ${result.final.round}` +
      // With partial participation the last round saw a sample; say what every client's model scores too.
      (lastParticipants < result.clients.length
        ? ` (its ${lastParticipants} participants; all clients' latest: ${formatPercent(result.final.allClientsAccuracy)}, macro-F1 ${formatPercent(result.final.allClientsMacroF1)})`
        : '') +
      '; ' +
      `adapter ${formatBytes(result.adapterBytes)}; sent up ${formatBytes(result.totals.bytesUp)}, down ${formatBytes(result.totals.bytesDown)}; ` +
      `${formatCount(result.totals.trainFlops)} FLOPs; ${result.totals.seconds.toFixed(1)} s\n`,
  );
  const note = chanceNote(result.clients, config.maxTrainSamples);
  if (note !== undefined) stdout.write(note + '\n');
  if (out) stdout.write(`wrote ${join(out, 'result.json')} and ${join(out, 'rounds.csv')}\n`);
  return 0;
}
