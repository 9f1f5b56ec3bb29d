/**
 * CSV tables as a client's private data: one row per sample, a header naming
 * the columns, one label column (class names, matched by name) and numeric
 * feature columns, standardized with the train split's mean and std.
 *
 * Files: `dir/train.csv` + `dir/test.csv`; or one table (`dir/data.csv`, the
 * only *.csv in `dir`, or an explicit `trainFile`) that is split with a seeded,
 * stratified, deterministic split. The tokenizer is RFC 4180 (comma, double
 * quotes, "" escapes, CRLF or LF) and is written here: it is small, and owning
 * it means every error can name the file and line.
 */
import { readFile, readdir, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import {
  DataError,
  checkClassNames,
  formatNameList,
  sortClassNames,
  type LabeledData,
  type LabeledSplits,
} from './sample-data';

export { DataError, type LabeledData, type LabeledSplits } from './sample-data';

export interface CsvOptions {
  /** A folder with train.csv + test.csv, or with data.csv / exactly one *.csv (then split). */
  dir?: string;
  /** An explicit table (relative paths are taken from `dir` when given). */
  trainFile?: string;
  /** An explicit test table; without one the train table is split. */
  testFile?: string;
  /** Name of the column that holds the class names (`--label-column`). */
  labelColumn: string;
  /** Share of rows held out for test when there is no test file, in (0, 1); default 0.2. */
  testFraction?: number;
  /** Seed of the train/test split; default 0. */
  seed?: number;
  /** The run's classes: labels map to these by name, and any other label is an error. */
  classNames?: readonly string[];
  /** Columns that are neither features nor the label (ids, dates: `--ignore-columns`). */
  ignoreColumns?: readonly string[];
}

export const DEFAULT_TEST_FRACTION = 0.2;

/** One CSV record and the 1-based line of the file it starts on. */
export interface CsvRecord {
  cells: string[];
  line: number;
}

/** Number of line breaks (CRLF, LF or a lone CR) in text[from, to). */
function countLineBreaks(text: string, from: number, to: number): number {
  let count = 0;
  for (let i = from; i < to; i++) {
    const c = text.charCodeAt(i);
    if (c === 10) count++;
    else if (c === 13 && text.charCodeAt(i + 1) !== 10) count++;
  }
  return count;
}

/**
 * RFC 4180 tokenizer. Records end at CRLF, LF or a lone CR; a line break at the
 * very end of the text does not start another record; an empty line is a
 * record with one empty cell. A cell that starts with `"` is quoted: it may hold
 * commas, line breaks and `""` (one quote), and must be followed by a comma, a
 * line break or the end. A quote inside an unquoted cell is kept as text (as
 * Python's csv module does). A leading UTF-8 BOM is dropped. `path` is only
 * used in error messages.
 */
export function parseCsv(text: string, path: string): CsvRecord[] {
  let i = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  const n = text.length;
  let line = 1;
  const records: CsvRecord[] = [];
  while (i < n) {
    const record: CsvRecord = { cells: [], line };
    for (;;) {
      if (text.charCodeAt(i) === 34 /* " */) {
        const openLine = line;
        i++;
        let value = '';
        for (;;) {
          const q = text.indexOf('"', i);
          if (q < 0) {
            throw new DataError(
              `${path}:${openLine}: quoted cell ${record.cells.length + 1} is never closed (a " opened on line ${openLine} has no closing ")`,
            );
          }
          value += text.slice(i, q);
          line += countLineBreaks(text, i, q);
          if (text.charCodeAt(q + 1) === 34) {
            value += '"';
            i = q + 2;
          } else {
            i = q + 1;
            break;
          }
        }
        const c = text.charCodeAt(i);
        if (i < n && c !== 44 && c !== 10 && c !== 13) {
          throw new DataError(
            `${path}:${line}: cell ${record.cells.length + 1}: ${JSON.stringify(text[i])} after a closing quote; ` +
              `write a quote inside a quoted cell as ""`,
          );
        }
        record.cells.push(value);
      } else {
        let j = i;
        while (j < n) {
          const c = text.charCodeAt(j);
          if (c === 44 || c === 10 || c === 13) break;
          j++;
        }
        record.cells.push(text.slice(i, j));
        i = j;
      }
      if (i >= n) break;
      const c = text.charCodeAt(i);
      if (c === 44 /* , */) {
        i++;
        continue; // a comma at the very end yields one more empty cell
      }
      i += c === 13 && text.charCodeAt(i + 1) === 10 ? 2 : 1;
      line++;
      break;
    }
    records.push(record);
  }
  return records;
}

/** True for a blank line (a record with one empty cell). Blank lines are skipped. */
function isBlank(record: CsvRecord): boolean {
  return record.cells.length === 1 && record.cells[0] === '';
}

/** A parsed table: header names and, per data row, the label text and feature values. */
interface Table {
  path: string;
  header: string[];
  featureColumns: string[];
  labelIndex: number;
  /** Label text per data row. */
  labels: string[];
  /** 1-based file line per data row (for error messages). */
  lines: number[];
  /** rows x featureColumns.length, row-major. */
  values: Float64Array;
}

async function readText(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new DataError(`${path}: no such file`);
    if (code === 'EISDIR') throw new DataError(`${path}: is a directory, not a CSV file`);
    throw new DataError(`${path}: cannot read (${(err as Error).message})`);
  }
}

function parseTable(text: string, path: string, labelColumn: string, ignoreColumns: readonly string[]): Table {
  const records = parseCsv(text, path).filter((r) => !isBlank(r));
  const headerRecord = records[0];
  if (headerRecord === undefined) {
    throw new DataError(`${path}:1: empty file; expected a header row naming the columns`);
  }
  const hl = headerRecord.line;
  const header = headerRecord.cells.map((c) => c.trim());
  const seen = new Map<string, number>();
  header.forEach((name, j) => {
    if (name === '') throw new DataError(`${path}:${hl}: header column ${j + 1} has no name`);
    const first = seen.get(name);
    if (first !== undefined) {
      throw new DataError(`${path}:${hl}: header names column ${JSON.stringify(name)} twice (columns ${first + 1} and ${j + 1})`);
    }
    seen.set(name, j);
  });
  const labelIndex = header.indexOf(labelColumn);
  if (labelIndex < 0) {
    throw new DataError(
      `${path}:${hl}: no column named ${JSON.stringify(labelColumn)} in the header (--label-column); columns: ${formatNameList(header)}`,
    );
  }
  for (const name of ignoreColumns) {
    if (!seen.has(name)) throw new DataError(`${path}:${hl}: no column named ${JSON.stringify(name)} to ignore (--ignore-columns); columns: ${formatNameList(header)}`);
    if (name === labelColumn) throw new DataError(`${path}:${hl}: the label column ${JSON.stringify(name)} cannot be ignored`);
  }
  const ignored = new Set(ignoreColumns.map((name) => seen.get(name)!));
  const featureColumns = header.filter((_, j) => j !== labelIndex && !ignored.has(j));
  if (featureColumns.length === 0) {
    throw new DataError(`${path}:${hl}: the header has no feature columns besides the label column ${JSON.stringify(labelColumn)}${ignored.size ? ' and the ignored ones' : ''}`);
  }
  const rows = records.slice(1);
  const nf = featureColumns.length;
  const values = new Float64Array(rows.length * nf);
  const labels: string[] = [];
  const lines: number[] = [];
  rows.forEach((row, r) => {
    const { cells, line } = row;
    if (cells.length !== header.length) {
      throw new DataError(`${path}:${line}: ${cells.length} cells, but the header (line ${hl}) has ${header.length} columns`);
    }
    let f = 0;
    for (let j = 0; j < cells.length; j++) {
      const cell = cells[j]!.trim();
      const where = `${path}:${line}: column ${JSON.stringify(header[j])} (column ${j + 1})`;
      if (j === labelIndex) {
        if (cell === '') throw new DataError(`${where}: empty label`);
        labels.push(cell);
        continue;
      }
      if (ignored.has(j)) continue;
      if (cell === '') throw new DataError(`${where}: empty cell; every feature must be a number`);
      const v = Number(cell);
      if (!Number.isFinite(v)) throw new DataError(`${where}: ${JSON.stringify(cells[j])} is not a number`);
      values[r * nf + f++] = v;
    }
    lines.push(line);
  });
  return { path, header, featureColumns, labelIndex, labels, lines, values };
}

async function loadTable(path: string, labelColumn: string, ignoreColumns: readonly string[]): Promise<Table> {
  return parseTable(await readText(path), path, labelColumn, ignoreColumns);
}

/** Deterministic uniform floats in [0, 1) (mulberry32). */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Seeded train/test split of row indices, stratified by label: the test set
 * gets round(n * testFraction) rows (at least 1, at most n - 1), shared among
 * classes in proportion to their size (each class within one row of its
 * share), taking a class's last train row only when the total cannot be
 * reached otherwise.
 * Which rows of a class go to test is a seeded shuffle. Both index lists come
 * back in ascending (file) order. Same inputs, same split.
 */
export function stratifiedSplit(
  labels: Int32Array,
  numClasses: number,
  testFraction: number,
  seed: number,
): { train: Int32Array; test: Int32Array } {
  const n = labels.length;
  if (n < 2) throw new RangeError(`stratifiedSplit: need at least 2 rows, got ${n}`);
  if (!(testFraction > 0 && testFraction < 1)) throw new RangeError(`stratifiedSplit: testFraction ${testFraction} not in (0, 1)`);
  const total = Math.min(n - 1, Math.max(1, Math.round(n * testFraction)));
  const byClass: number[][] = Array.from({ length: numClasses }, () => []);
  for (let i = 0; i < n; i++) byClass[labels[i]!]!.push(i);
  const ideal = byClass.map((rows) => (rows.length * total) / n);
  const take = byClass.map((rows, c) => Math.min(Math.floor(ideal[c]!), Math.max(0, rows.length - 1)));
  // The rest of the test rows, one at a time, to the class furthest below its share:
  // first only from classes that keep a train row, then from any. Every pick has a
  // positive shortfall, so no class ends more than one row off its share.
  let left = total - take.reduce((a, b) => a + b, 0);
  for (const keepOneInTrain of [true, false]) {
    while (left > 0) {
      let best = -1;
      for (let c = 0; c < numClasses; c++) {
        const cap = byClass[c]!.length - (keepOneInTrain ? 1 : 0);
        const short = ideal[c]! - take[c]!;
        if (take[c]! < cap && short > 0 && (best < 0 || short > ideal[best]! - take[best]!)) best = c;
      }
      if (best < 0) break;
      take[best]!++;
      left--;
    }
  }
  const rng = mulberry32(seed);
  const test: number[] = [];
  const train: number[] = [];
  byClass.forEach((rows, c) => {
    const shuffled = rows.slice();
    for (let i = shuffled.length - 1; i > 0; i--) {
      const j = Math.floor(rng() * (i + 1));
      [shuffled[i], shuffled[j]] = [shuffled[j]!, shuffled[i]!];
    }
    test.push(...shuffled.slice(0, take[c]));
    train.push(...shuffled.slice(take[c]));
  });
  const sorted = (xs: number[]): Int32Array => Int32Array.from(xs).sort();
  return { train: sorted(train), test: sorted(test) };
}

/** Which files to read: both tables, or one to split. */
interface CsvFiles {
  train: string;
  test?: string;
}

async function isFile(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}

async function resolveCsvFiles(options: CsvOptions): Promise<CsvFiles> {
  const { dir, trainFile, testFile } = options;
  const inDir = (p: string): string => (dir !== undefined ? resolve(dir, p) : p);
  if (trainFile !== undefined) {
    return testFile !== undefined ? { train: inDir(trainFile), test: inDir(testFile) } : { train: inDir(trainFile) };
  }
  if (testFile !== undefined) throw new DataError(`csv: a test file (${testFile}) needs a train file too`);
  if (dir === undefined) throw new DataError('csv: give a data folder (--data-dir) or a train file');
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new DataError(`${dir}: no such directory`);
    if (code === 'ENOTDIR') throw new DataError(`${dir}: not a directory`);
    throw new DataError(`${dir}: cannot read (${(err as Error).message})`);
  }
  const train = join(dir, 'train.csv');
  const test = join(dir, 'test.csv');
  if ((await isFile(train)) && (await isFile(test))) return { train, test };
  const data = join(dir, 'data.csv');
  if (await isFile(data)) return { train: data };
  const csvs: string[] = [];
  for (const name of names.sort()) {
    if (!name.startsWith('.') && name.toLowerCase().endsWith('.csv') && (await isFile(join(dir, name)))) csvs.push(name);
  }
  if (csvs.length === 1) return { train: join(dir, csvs[0]!) };
  throw new DataError(
    csvs.length === 0
      ? `${dir}: no CSV file; expected train.csv + test.csv, data.csv, or exactly one *.csv`
      : `${dir}: ${csvs.length} CSV files (${formatNameList(csvs, 10)}) and no train.csv + test.csv or data.csv; ` +
          'name them train.csv and test.csv, or keep exactly one',
  );
}

/** Maps each table's label texts to class indices (see CsvOptions.classNames). */
function labelTables(tables: Table[], contract: readonly string[] | undefined): { classNames: string[]; labels: Int32Array[] } {
  let classNames: string[];
  if (contract !== undefined) {
    classNames = checkClassNames(contract, 'csv');
  } else {
    classNames = sortClassNames(tables.flatMap((t) => t.labels));
  }
  const index = new Map(classNames.map((name, i) => [name, i]));
  const labels = tables.map((t) =>
    Int32Array.from(t.labels, (name, r) => {
      const k = index.get(name);
      if (k === undefined) {
        throw new DataError(
          `${t.path}:${t.lines[r]}: label ${JSON.stringify(name)} (column ${JSON.stringify(t.header[t.labelIndex])}) ` +
            `is not one of the run's ${classNames.length} classes: ${formatNameList(classNames)}`,
        );
      }
      return k;
    }),
  );
  return { classNames, labels };
}

/** Per-feature mean and std (population, as sklearn's StandardScaler) of the given rows; a std of 0 becomes 1. */
export function featureStats(values: Float64Array, numFeatures: number, rows: ArrayLike<number>): { mean: Float64Array; std: Float64Array } {
  const mean = new Float64Array(numFeatures);
  const std = new Float64Array(numFeatures);
  const n = rows.length;
  for (let r = 0; r < n; r++) {
    const base = rows[r]! * numFeatures;
    for (let f = 0; f < numFeatures; f++) mean[f]! += values[base + f]!;
  }
  for (let f = 0; f < numFeatures; f++) mean[f]! /= n;
  for (let r = 0; r < n; r++) {
    const base = rows[r]! * numFeatures;
    for (let f = 0; f < numFeatures; f++) {
      const d = values[base + f]! - mean[f]!;
      std[f]! += d * d;
    }
  }
  for (let f = 0; f < numFeatures; f++) {
    const s = Math.sqrt(std[f]! / n);
    std[f] = s > 0 && Number.isFinite(s) ? s : 1;
  }
  return { mean, std };
}

function standardized(
  values: Float64Array,
  numFeatures: number,
  rows: ArrayLike<number>,
  stats: { mean: Float64Array; std: Float64Array },
): Float32Array {
  const out = new Float32Array(rows.length * numFeatures);
  for (let r = 0; r < rows.length; r++) {
    const base = rows[r]! * numFeatures;
    for (let f = 0; f < numFeatures; f++) out[r * numFeatures + f] = (values[base + f]! - stats.mean[f]!) / stats.std[f]!;
  }
  return out;
}

function allRows(n: number): Int32Array {
  return Int32Array.from({ length: n }, (_, i) => i);
}

function pick(labels: Int32Array, rows: Int32Array): Int32Array {
  return Int32Array.from(rows, (r) => labels[r]!);
}

/**
 * Reads a CSV data set (see CsvOptions for the file layout). Features are every
 * column but the label column, standardized per feature with the train split's
 * mean and std; sampleShape is [numFeatures]. Bad input throws DataError naming
 * the file, line and column.
 */
export async function loadCsvData(options: CsvOptions): Promise<LabeledSplits> {
  const labelColumn = options.labelColumn?.trim() ?? '';
  if (labelColumn === '') throw new DataError('csv: the label column name is empty (--label-column)');
  const testFraction = options.testFraction ?? DEFAULT_TEST_FRACTION;
  if (!(testFraction > 0 && testFraction < 1)) {
    throw new DataError(`csv: test fraction ${testFraction} is not in (0, 1) (--test-fraction)`);
  }
  const seed = options.seed ?? 0;
  if (!Number.isInteger(seed)) throw new DataError(`csv: seed ${seed} is not an integer`);

  const files = await resolveCsvFiles(options);
  const ignore = options.ignoreColumns ?? [];
  const trainTable = await loadTable(files.train, labelColumn, ignore);
  const testTable = files.test !== undefined ? await loadTable(files.test, labelColumn, ignore) : undefined;
  if (trainTable.labels.length === 0) throw new DataError(`${trainTable.path}: no data rows after the header`);
  if (testTable !== undefined) {
    if (testTable.labels.length === 0) throw new DataError(`${testTable.path}: no data rows after the header`);
    const a = trainTable.header;
    const b = testTable.header;
    if (a.length !== b.length || a.some((name, j) => name !== b[j])) {
      const j = a.findIndex((name, k) => name !== b[k]);
      const detail =
        a.length !== b.length && (j < 0 || j >= b.length)
          ? `${b.length} columns where the train file has ${a.length}`
          : `column ${j + 1} is ${JSON.stringify(b[j])} where the train file has ${JSON.stringify(a[j])}`;
      throw new DataError(`${testTable.path}:1: header differs from ${trainTable.path}: ${detail} (train columns: ${formatNameList(a)})`);
    }
  }

  const tables = testTable !== undefined ? [trainTable, testTable] : [trainTable];
  const { classNames, labels } = labelTables(tables, options.classNames);
  const numClasses = classNames.length;
  const nf = trainTable.featureColumns.length;

  let trainValues: Float64Array;
  let trainRows: Int32Array;
  let testValues: Float64Array;
  let testRows: Int32Array;
  let trainLabels: Int32Array;
  let testLabels: Int32Array;
  let source: string;
  if (testTable !== undefined) {
    trainValues = trainTable.values;
    trainRows = allRows(trainTable.labels.length);
    testValues = testTable.values;
    testRows = allRows(testTable.labels.length);
    trainLabels = labels[0]!;
    testLabels = labels[1]!;
    source = `${trainTable.path} + ${testTable.path}`;
  } else {
    const n = trainTable.labels.length;
    if (n < 2) {
      throw new DataError(`${trainTable.path}: only 1 data row (line ${trainTable.lines[0]}); a train/test split needs at least 2`);
    }
    const split = stratifiedSplit(labels[0]!, numClasses, testFraction, seed);
    trainValues = testValues = trainTable.values;
    trainRows = split.train;
    testRows = split.test;
    trainLabels = pick(labels[0]!, split.train);
    testLabels = pick(labels[0]!, split.test);
    source = `${trainTable.path} (test fraction ${testFraction}, seed ${seed})`;
  }
  const stats = featureStats(trainValues, nf, trainRows);
  const make = (values: Float64Array, rows: Int32Array, lbl: Int32Array, part: string, path: string): LabeledData => ({
    name: `csv ${path} (${part})`,
    features: standardized(values, nf, rows, stats),
    labels: lbl,
    count: rows.length,
    sampleShape: [nf],
    numClasses,
    classNames: [...classNames],
  });
  return {
    train: make(trainValues, trainRows, trainLabels, 'train', trainTable.path),
    test: make(testValues, testRows, testLabels, 'test', testTable?.path ?? trainTable.path),
    source,
  };
}
