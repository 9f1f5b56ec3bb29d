/**
 * Text as a client's private data: JSON Lines, one `{"text": ..., "label": ...}`
 * object per line, in `dir/train.jsonl` and `dir/test.jsonl`, with an optional
 * `"group"` (where the text comes from, e.g. a mailbox set): when every line
 * of both files has one, `--partition group` can split by it. Texts become
 * byte token ids (tokenizer.ts) cut or padded to `maxTokens`; labels are class
 * names, matched to the run's by name. Every problem names the file and line.
 */
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { checkClassNames, DataError, formatNameList, sortClassNames, type LabeledData, type LabeledSplits } from './sample-data';
import { checkMaxTokens, DEFAULT_MAX_TOKENS, encodeBytes } from './tokenizer';

export const JSONL_FILES = { train: 'train.jsonl', test: 'test.jsonl' } as const;

export interface JsonlOptions {
  /** A folder with train.jsonl and test.jsonl. */
  readonly dir: string;
  /** Sequence length: texts are cut to their first maxTokens bytes and padded (default DEFAULT_MAX_TOKENS). */
  readonly maxTokens?: number;
  /** The run's classes: labels map to these by name, and any other label is an error. */
  readonly classNames?: readonly string[];
  /** Names the splits in logs (default `jsonl DIR`). */
  readonly name?: string;
}

/** One line's text and label, and where it came from. */
interface TextRecord {
  readonly text: string;
  readonly label: string;
  readonly group?: string;
  readonly line: number;
}

const describe = (v: unknown): string => (v === null ? 'null' : Array.isArray(v) ? 'an array' : typeof v === 'string' ? `"${v.slice(0, 40)}"` : typeof v);

/** Parses one file's lines; blank lines are skipped, anything else must be a {"text", "label"} object. */
export function parseJsonl(content: string, path: string): TextRecord[] {
  const records: TextRecord[] = [];
  const lines = content.split('\n');
  lines.forEach((raw, i) => {
    const line = i + 1;
    const text = (i === 0 ? raw.replace(/^\uFEFF/, '') : raw).replace(/\r$/, '');
    if (text.trim() === '') return;
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (error) {
      throw new DataError(`${path}:${line}: not valid JSON (${(error as Error).message})`);
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      throw new DataError(`${path}:${line}: expected an object {"text": ..., "label": ...}, got ${describe(value)}`);
    }
    const { text: body, label, group } = value as Record<string, unknown>;
    if (typeof body !== 'string') throw new DataError(`${path}:${line}: "text" must be a string, got ${describe(body)}`);
    if (body === '') throw new DataError(`${path}:${line}: "text" is empty`);
    if (typeof label !== 'string' && !(typeof label === 'number' && Number.isFinite(label))) {
      throw new DataError(`${path}:${line}: "label" must be a class name (a string or a number), got ${describe(label)}`);
    }
    const name = String(label).trim();
    if (name === '') throw new DataError(`${path}:${line}: "label" is empty`);
    if (group !== undefined && (typeof group !== 'string' || group.trim() === '')) throw new DataError(`${path}:${line}: "group" must be a non-empty string, got ${describe(group)}`);
    records.push({ text: body, label: name, line, ...(group === undefined ? {} : { group: group.trim() }) });
  });
  if (records.length === 0) throw new DataError(`${path}: no samples (one {"text": ..., "label": ...} object per line)`);
  return records;
}

async function readJsonl(dir: string, file: string): Promise<{ path: string; records: TextRecord[] }> {
  const path = join(dir, file);
  let content: string;
  try {
    content = await readFile(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new DataError(`${path}: no such file; a jsonl data folder holds ${JSONL_FILES.train} and ${JSONL_FILES.test}, one {"text": ..., "label": ...} object per line`);
    throw new DataError(`${path}: cannot read (${(error as Error).message})`);
  }
  return { path, records: parseJsonl(content, path) };
}

async function checkDir(dir: string): Promise<void> {
  try {
    if (!(await stat(dir)).isDirectory()) throw new DataError(`${dir}: not a directory; --data-format jsonl reads a folder with ${JSONL_FILES.train} and ${JSONL_FILES.test}`);
  } catch (error) {
    if (error instanceof DataError) throw error;
    throw new DataError(`${dir}: no such directory`);
  }
}

/**
 * The groups of both files, sorted by name (one index for train and test), or
 * undefined unless every line has one (then the data has no groups, and
 * `--partition group` says so; the texts still load).
 */
function groupIndex(files: readonly { records: readonly TextRecord[] }[]): { names: string[]; index: Map<string, number> } | undefined {
  const all = files.flatMap((f) => f.records);
  if (all.some((r) => r.group === undefined)) return undefined;
  const names = [...new Set(all.map((r) => r.group!))].sort();
  return { names, index: new Map(names.map((g, i) => [g, i])) };
}

/** Reads a jsonl data folder (see JsonlOptions); sampleShape is [maxTokens], features are token ids. */
export async function loadJsonlData(options: JsonlOptions): Promise<LabeledSplits> {
  let maxTokens: number;
  try {
    maxTokens = checkMaxTokens(options.maxTokens ?? DEFAULT_MAX_TOKENS);
  } catch (error) {
    throw new DataError(`jsonl: ${(error as Error).message} (--max-tokens)`);
  }
  await checkDir(options.dir);
  const files = [await readJsonl(options.dir, JSONL_FILES.train), await readJsonl(options.dir, JSONL_FILES.test)];
  const classNames = options.classNames !== undefined ? checkClassNames(options.classNames, 'jsonl') : sortClassNames(files.flatMap((f) => f.records.map((r) => r.label)));
  const index = new Map(classNames.map((name, i) => [name, i]));
  const groupOf = groupIndex(files);
  const name = options.name ?? `jsonl ${options.dir}`;
  const [train, test] = files.map(({ path, records }, split): LabeledData => {
    const features = new Float32Array(records.length * maxTokens);
    const labels = Int32Array.from(records, (r, i) => {
      const k = index.get(r.label);
      if (k === undefined) throw new DataError(`${path}:${r.line}: label ${JSON.stringify(r.label)} is not one of the run's ${classNames.length} classes: ${formatNameList(classNames)}`);
      encodeBytes(r.text, maxTokens, features, i * maxTokens);
      return k;
    });
    const groups = groupOf && { names: groupOf.names, of: Int32Array.from(records, (r) => groupOf.index.get(r.group!)!) };
    return {
      name: `${name} (${split === 0 ? 'train' : 'test'})`,
      features,
      labels,
      count: records.length,
      sampleShape: [maxTokens],
      numClasses: classNames.length,
      classNames: [...classNames],
      ...(groups ? { groups } : {}),
    };
  });
  return { train: train!, test: test!, source: `${files[0]!.path} + ${files[1]!.path} (${maxTokens} byte tokens)` };
}
