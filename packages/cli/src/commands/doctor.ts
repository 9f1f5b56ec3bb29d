/** `pfedlora doctor`: what this machine offers pfedlora. */
import { imageDecoderInfo, initEngine, resolveCifarDir, resolveDatasetSource, resolveFashionMnistSource, type EngineInfo } from '@pfedlora/ml';
import { boolFlag, helpText, parseFlags, type FlagSpecs } from '../args';
import { backendFlag, BACKEND_FLAG } from './shared';

export interface DoctorReport {
  readonly pfedlora: string;
  readonly node: string;
  readonly platform: string;
  readonly cpus: number;
  readonly engine: EngineInfo;
  readonly data: Array<{ dataset: string; found: boolean; source?: string; origin?: string; problem?: string }>;
  /** What decodes image folders (--data-format image-folder). */
  readonly imageDecoder: { readonly found: boolean; readonly version?: string; readonly problem?: string };
}

const FLAGS: FlagSpecs = {
  ...BACKEND_FLAG,
  'data-dir': { type: 'string', value: 'DIR', help: 'also check this dataset folder' },
  json: { type: 'boolean', help: 'print one JSON object' },
  help: { type: 'boolean', short: 'h', help: 'show this help' },
};

export async function doctor(argv: readonly string[]): Promise<number> {
  const { flags } = parseFlags(argv, FLAGS, 'doctor');
  if (boolFlag(flags, 'help')) {
    process.stdout.write(helpText('pfedlora doctor [--backend NAME] [--json]', 'Prints the training engine chosen (and why), SIMD/threads, datasets found and versions.', FLAGS));
    return 0;
  }
  const engine = await initEngine(backendFlag(flags));
  const dataDir = typeof flags['data-dir'] === 'string' ? flags['data-dir'] : undefined;
  const probe = (dataset: string, find: () => { source: string; origin: string }) => {
    try {
      return { dataset, found: true, ...find() };
    } catch (error) {
      return { dataset, found: false, problem: error instanceof Error ? error.message.split('\n')[0]! : String(error) };
    }
  };
  const data: DoctorReport['data'] = [
    probe('fashion-mnist', () => {
      const src = resolveFashionMnistSource(dataDir === undefined ? {} : { dataDir });
      return { source: src.dir, origin: src.origin };
    }),
    probe('spam-assassin', () => resolveDatasetSource('spam-assassin', dataDir === undefined ? {} : { dataDir })),
  ];
  if (dataDir !== undefined) {
    for (const kind of ['cifar10', 'cifar100'] as const) data.push(probe(kind, () => ({ source: resolveCifarDir(dataDir, kind), origin: 'data-dir' })));
  }
  const report: DoctorReport = {
    pfedlora: require('../../package.json').version as string,
    node: process.version,
    platform: `${process.platform} ${process.arch}`,
    cpus: require('node:os').cpus().length as number,
    engine,
    data,
    imageDecoder: await imageDecoderInfo(),
  };
  if (boolFlag(flags, 'json')) {
    process.stdout.write(JSON.stringify(report, null, 2) + '\n');
    return 0;
  }
  const lines = [
    `pfedlora ${report.pfedlora} on node ${report.node} (${report.platform}, ${report.cpus} CPUs)`,
    `engine: ${engine.backend} (asked: ${engine.requested}; tfjs ${engine.tfjsVersion})` +
      (engine.backend === 'wasm' ? `, SIMD ${engine.simd ? 'yes' : 'no'}, threads ${engine.threads ?? 1}` : ''),
    ...engine.attempts.map((a) => `  ${a.ok ? 'ok  ' : 'no  '} ${a.backend}${a.reason ? `: ${a.reason}` : ''}`),
    engine.customKernels.length ? `custom kernels: ${engine.customKernels.join(', ')}` : 'custom kernels: none',
    'data:',
    ...data.map((x) => `  ${x.dataset.padEnd(14)} ${x.found ? `${x.origin}: ${x.source}` : `not found: ${x.problem}`}`),
    `image folders: ${report.imageDecoder.found ? report.imageDecoder.version! : `cannot decode: ${report.imageDecoder.problem}`}`,
  ];
  process.stdout.write(lines.join('\n') + '\n');
  return 0;
}
