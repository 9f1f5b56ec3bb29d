/**
 * Where a federation's data comes from: a benchmark set by name, an image
 * folder, a CSV table, JSON Lines of text, or data sets a program hands over. One entry point
 * reads any of them into train and test splits; a client maps labels to its
 * run's classes by name, a simulation takes the classes the data has.
 */
import type { Dataset, DatasetName, DatasetSplits } from './dataset';
import { loadDataset } from './load';
import { loadCsvData } from './csv';
import { loadImageFolder } from './image-folder';
import { loadJsonlData } from './jsonl';
import { DataError } from './sample-data';
import { isTextDataset } from './dataset';

export const DATA_FORMATS = ['idx', 'cifar', 'image-folder', 'csv', 'jsonl'] as const;
export type DataFormat = (typeof DATA_FORMATS)[number];

/** Image folders are resized to this when nothing else says (a model file's input does). */
export const DEFAULT_IMAGE_INPUT: readonly [number, number, number] = [32, 32, 3];

export type DataSource =
  /**
   * Fashion-MNIST / MNIST (IDX), CIFAR-10/100 (binary) or SpamAssassin (jsonl), by name; `dataDir`
   * undefined: the shipped subset or the Debian package. `maxTokens`: a text set's sequence length.
   */
  | { readonly format: 'benchmark'; readonly dataset: DatasetName; readonly dataDir?: string; readonly maxTokens?: number }
  /** dir/train/<class>/*.png|jpg and dir/test/<class>/*, resized to `inputShape`. */
  | { readonly format: 'image-folder'; readonly dir: string; readonly inputShape?: readonly number[] }
  /** A header row, numeric features, a label column; train.csv + test.csv, or one file split by `testFraction`. */
  | {
      readonly format: 'csv';
      readonly path: string;
      readonly labelColumn: string;
      /** Columns that are neither features nor the label (ids, dates). */
      readonly ignoreColumns?: readonly string[];
      readonly testFraction?: number;
      readonly seed?: number;
    }
  /** dir/train.jsonl + dir/test.jsonl, one {"text", "label"} per line, as byte tokens cut to `maxTokens`. */
  | { readonly format: 'jsonl'; readonly dir: string; readonly maxTokens?: number }
  /** Data sets a program that embeds the client hands over. */
  | { readonly format: 'program'; readonly name: string; readonly train: Dataset; readonly test: Dataset };

export interface DataSourceOptions {
  /** The run's classes, when known: labels map to these by name and others are refused. */
  readonly classNames?: readonly string[];
  /** What the model takes (image folders are resized to it, texts cut to its length); overrides the source's own. */
  readonly inputShape?: readonly number[];
}

/**
 * The sequence length text is cut to: the model's when it says (it must be a
 * sequence [tokens], and agree with a --max-tokens given too), else the source's.
 */
export function textLength(where: string, maxTokens: number | undefined, modelInput: readonly number[] | undefined): number | undefined {
  if (modelInput === undefined) return maxTokens;
  if (modelInput.length !== 1) throw new DataError(`${where}: text needs a model that takes token sequences [tokens], but the model takes [${modelInput.join(', ')}]`);
  if (maxTokens !== undefined && maxTokens !== modelInput[0]) throw new DataError(`${where}: --max-tokens ${maxTokens}, but the model takes sequences of ${modelInput[0]} tokens`);
  return modelInput[0];
}

export async function loadDataSource(source: DataSource, options: DataSourceOptions = {}): Promise<DatasetSplits> {
  const classNames = options.classNames === undefined ? {} : { classNames: options.classNames };
  switch (source.format) {
    case 'benchmark': {
      const maxTokens = isTextDataset(source.dataset) ? textLength(source.dataset, source.maxTokens, options.inputShape) : undefined;
      return loadDataset(source.dataset, { ...(source.dataDir === undefined ? {} : { dataDir: source.dataDir }), ...(maxTokens === undefined ? {} : { maxTokens }) });
    }
    case 'image-folder': {
      const shape = options.inputShape ?? source.inputShape ?? DEFAULT_IMAGE_INPUT;
      if (shape.length !== 3) throw new DataError(`${source.dir}: an image folder needs a model that takes images [height, width, channels], but the model takes [${shape.join(', ')}]`);
      return loadImageFolder({ dir: source.dir, inputShape: [shape[0]!, shape[1]!, shape[2]!], ...classNames });
    }
    case 'csv':
      return loadCsvData({
        ...(source.path.toLowerCase().endsWith('.csv') ? { trainFile: source.path } : { dir: source.path }),
        labelColumn: source.labelColumn,
        ...(source.ignoreColumns?.length ? { ignoreColumns: source.ignoreColumns } : {}),
        ...classNames,
        ...(source.testFraction !== undefined ? { testFraction: source.testFraction } : {}),
        ...(source.seed !== undefined ? { seed: source.seed } : {}),
      });
    case 'jsonl': {
      const maxTokens = textLength(source.dir, source.maxTokens, options.inputShape);
      return loadJsonlData({ dir: source.dir, ...(maxTokens === undefined ? {} : { maxTokens }), ...classNames });
    }
    case 'program':
      return { train: source.train, test: source.test, source: source.name };
  }
}

/** Whether a source holds text (token ids): what picks the transformer family by default. */
export function isTextSource(source: DataSource): boolean {
  return source.format === 'jsonl' || (source.format === 'benchmark' && isTextDataset(source.dataset));
}

/** A short description for logs and reports. */
export function dataSourceLabel(source: DataSource): string {
  switch (source.format) {
    case 'benchmark':
      return source.dataset;
    case 'image-folder':
      return `image-folder ${source.dir}`;
    case 'csv':
      return `csv ${source.path}`;
    case 'jsonl':
      return `jsonl ${source.dir}`;
    case 'program':
      return source.name;
  }
}
