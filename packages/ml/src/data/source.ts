/**
 * Where a federation's data comes from: a benchmark set by name, an image
 * folder, a CSV table, or data sets a program hands over. One entry point
 * reads any of them into train and test splits; a client maps labels to its
 * run's classes by name, a simulation takes the classes the data has.
 */
import type { Dataset, DatasetName, DatasetSplits } from './dataset';
import { loadDataset } from './load';
import { loadCsvData } from './csv';
import { loadImageFolder } from './image-folder';
import { DataError } from './sample-data';

export const DATA_FORMATS = ['idx', 'cifar', 'image-folder', 'csv'] as const;
export type DataFormat = (typeof DATA_FORMATS)[number];

/** Image folders are resized to this when nothing else says (a model file's input does). */
export const DEFAULT_IMAGE_INPUT: readonly [number, number, number] = [32, 32, 3];

export type DataSource =
  /** Fashion-MNIST / MNIST (IDX) or CIFAR-10/100 (binary), by name; `dataDir` undefined: the shipped subset or the Debian package. */
  | { readonly format: 'benchmark'; readonly dataset: DatasetName; readonly dataDir?: string }
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
  /** Data sets a program that embeds the client hands over. */
  | { readonly format: 'program'; readonly name: string; readonly train: Dataset; readonly test: Dataset };

export interface DataSourceOptions {
  /** The run's classes, when known: labels map to these by name and others are refused. */
  readonly classNames?: readonly string[];
  /** What the model takes (image folders are resized to it); overrides the source's own. */
  readonly inputShape?: readonly number[];
}

export async function loadDataSource(source: DataSource, options: DataSourceOptions = {}): Promise<DatasetSplits> {
  const classNames = options.classNames === undefined ? {} : { classNames: options.classNames };
  switch (source.format) {
    case 'benchmark':
      return loadDataset(source.dataset, source.dataDir === undefined ? {} : { dataDir: source.dataDir });
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
    case 'program':
      return { train: source.train, test: source.test, source: source.name };
  }
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
    case 'program':
      return source.name;
  }
}
