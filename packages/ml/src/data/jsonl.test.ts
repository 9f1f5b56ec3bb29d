import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { loadJsonlData, type JsonlOptions } from './jsonl';
import { loadDataset, resolveDatasetSource, spamAssassinSubsetDir } from './load';
import { loadDataSource, isTextSource } from './source';
import { subsetOf, type Dataset } from './dataset';
import { DataError } from './sample-data';
import { BYTE_VOCAB_SIZE, detokenize, encodeBytes, tokenize } from './tokenizer';

let root: string;
let counter = 0;
beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'pfedlora-jsonl-'));
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

const line = (text: unknown, label: unknown) => JSON.stringify({ text, label });

/** A fresh folder holding train.jsonl and test.jsonl (or the given files). */
function folder(files: Record<string, string>): string {
  const dir = join(root, `case-${counter++}`);
  mkdirSync(dir);
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}

const good = () => folder({ 'train.jsonl': [line('hello', 'ham'), line('BUY NOW', 'spam'), line('héllo', 'ham')].join('\n') + '\n', 'test.jsonl': line('win $$$', 'spam') });

async function failure(options: JsonlOptions): Promise<string> {
  const err = await loadJsonlData(options).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(DataError);
  return (err as DataError).message;
}

describe('byte tokenizer', () => {
  test('byte b is id b + 1, 0 pads, UTF-8 multi-byte characters take several ids, long texts are cut', () => {
    expect(Array.from(tokenize('Hi', 4))).toEqual([73, 106, 0, 0]);
    expect(Array.from(tokenize('é', 3))).toEqual([0xc3 + 1, 0xa9 + 1, 0]);
    expect(Array.from(tokenize('abcdef', 3))).toEqual([98, 99, 100]);
    const out = new Float32Array(6).fill(9);
    encodeBytes('a', 3, out, 3);
    expect(Array.from(out)).toEqual([9, 9, 9, 98, 0, 0]);
  });

  test('property: ids are in [1, 256] then padding, and decode back to the text when it fits', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 40 }), fc.integer({ min: 1, max: 200 }), (text, maxTokens) => {
        const ids = tokenize(text, maxTokens);
        const bytes = Buffer.from(text, 'utf8').length;
        const used = Math.min(bytes, maxTokens);
        expect(ids.length).toBe(maxTokens);
        for (let i = 0; i < maxTokens; i++) {
          if (i < used) expect(ids[i]! >= 1 && ids[i]! < BYTE_VOCAB_SIZE).toBe(true);
          else expect(ids[i]).toBe(0);
        }
        if (bytes <= maxTokens) expect(detokenize(ids)).toBe(Buffer.from(text, 'utf8').toString('utf8'));
      }),
    );
  });
});

describe('loadJsonlData', () => {
  test('train.jsonl + test.jsonl: byte ids of [maxTokens], classes sorted by name, blank lines and CRLF skipped, other keys ignored', async () => {
    const dir = folder({
      'train.jsonl': '\uFEFF' + [line('hello', 'ham'), '', JSON.stringify({ text: 'BUY NOW', label: 'spam', group: 'spam-1' })].join('\r\n') + '\r\n\r\n',
      'test.jsonl': line('win', 'spam'),
    });
    const data = await loadJsonlData({ dir, maxTokens: 6 });
    expect(data.train.classNames).toEqual(['ham', 'spam']);
    expect(Array.from(data.train.labels)).toEqual([0, 1]);
    expect(Array.from(data.test.labels)).toEqual([1]);
    expect(data.train.sampleShape).toEqual([6]);
    expect(Array.from(data.train.features)).toEqual([...tokenize('hello', 6), ...tokenize('BUY NOW', 6)]);
    expect(detokenize(data.test.features)).toBe('win');
    expect(data.source).toBe(`${join(dir, 'train.jsonl')} + ${join(dir, 'test.jsonl')} (6 byte tokens)`);
  });

  test("labels map to the run's classes by name (numbers are names too); classes without samples are fine", async () => {
    const dir = folder({ 'train.jsonl': [line('a', 1), line('b', '0')].join('\n'), 'test.jsonl': line('c', 1) });
    const data = await loadJsonlData({ dir, classNames: ['2', '1', '0'] });
    expect(Array.from(data.train.labels)).toEqual([1, 2]);
    expect(data.train.numClasses).toBe(3);
    expect(data.train.sampleShape).toEqual([128]);
  });

  test.each([
    ['not JSON', '{"text": "a", "label": "x"}\n{oops', /train\.jsonl:2: not valid JSON \(/],
    ['an array', '["a", "x"]', /train\.jsonl:1: expected an object \{"text": \.\.\., "label": \.\.\.\}, got an array/],
    ['text missing', '{"label": "x"}', /train\.jsonl:1: "text" must be a string, got undefined/],
    ['text a number', '{"text": 5, "label": "x"}', /train\.jsonl:1: "text" must be a string, got number/],
    ['empty text', '{"text": "", "label": "x"}', /train\.jsonl:1: "text" is empty/],
    ['label missing', '\n\n{"text": "a"}', /train\.jsonl:3: "label" must be a class name \(a string or a number\), got undefined/],
    ['label an object', '{"text": "a", "label": {"x": 1}}', /train\.jsonl:1: "label" must be a class name .*got object/],
    ['empty label', '{"text": "a", "label": " "}', /train\.jsonl:1: "label" is empty/],
    ['no samples', '\n\n', /train\.jsonl: no samples \(one \{"text": \.\.\., "label": \.\.\.\} object per line\)/],
  ])('%s: the error names the file and line', async (_case, train, message) => {
    const dir = folder({ 'train.jsonl': train, 'test.jsonl': line('t', 'x') });
    expect(await failure({ dir })).toMatch(message);
  });

  test("a label outside the run's classes names the file, the line and the classes", async () => {
    const dir = folder({ 'train.jsonl': line('a', 'ham'), 'test.jsonl': [line('b', 'ham'), line('c', 'eggs')].join('\n') });
    expect(await failure({ dir, classNames: ['ham', 'spam'] })).toBe(`${join(dir, 'test.jsonl')}:2: label "eggs" is not one of the run's 2 classes: "ham", "spam"`);
  });

  test('"group": one index over both files, sorted by name, kept by subsetOf; groups only when every line has one', async () => {
    const g = (text: string, label: string, group: unknown) => JSON.stringify({ text, label, group });
    const dir = folder({ 'train.jsonl': [g('a', 'ham', 'hard-ham'), g('b', 'spam', 'spam'), g('c', 'ham', 'easy-ham')].join('\n'), 'test.jsonl': g('d', 'ham', 'hard-ham') });
    const data = await loadJsonlData({ dir });
    expect(data.train.groups!.names).toEqual(['easy-ham', 'hard-ham', 'spam']);
    expect(Array.from(data.train.groups!.of)).toEqual([1, 2, 0]);
    expect(Array.from(data.test.groups!.of)).toEqual([1]);
    expect(Array.from(subsetOf(data.train as Dataset, Int32Array.of(2, 1)).groups!.of)).toEqual([0, 2]);
    expect((await loadJsonlData({ dir: good() })).train.groups).toBeUndefined();
    const some = folder({ 'train.jsonl': [g('a', 'ham', 'x'), line('b', 'spam')].join('\n'), 'test.jsonl': g('d', 'ham', 'x') });
    expect((await loadJsonlData({ dir: some })).train.groups).toBeUndefined();
    const bad = folder({ 'train.jsonl': g('a', 'ham', 7), 'test.jsonl': g('d', 'ham', 'x') });
    expect(await failure({ dir: bad })).toBe(`${join(bad, 'train.jsonl')}:1: "group" must be a non-empty string, got number`);
  });

  test('missing folder, missing file, bad --max-tokens', async () => {
    expect(await failure({ dir: join(root, 'nope') })).toBe(`${join(root, 'nope')}: no such directory`);
    const dir = folder({ 'train.jsonl': line('a', 'x') });
    expect(await failure({ dir })).toBe(`${join(dir, 'test.jsonl')}: no such file; a jsonl data folder holds train.jsonl and test.jsonl, one {"text": ..., "label": ...} object per line`);
    expect(await failure({ dir: good(), maxTokens: 0 })).toBe('jsonl: max tokens must be an integer in [1, 4096], got 0 (--max-tokens)');
  });
});

describe('text sources', () => {
  test("a jsonl source is cut to the model's length; a --max-tokens that disagrees with the model, or an image model, is refused", async () => {
    const dir = good();
    const source = { format: 'jsonl' as const, dir, maxTokens: 8 };
    expect((await loadDataSource(source)).train.sampleShape).toEqual([8]);
    expect((await loadDataSource({ format: 'jsonl', dir }, { inputShape: [5] })).train.sampleShape).toEqual([5]);
    await expect(loadDataSource(source, { inputShape: [16] })).rejects.toThrow(`${dir}: --max-tokens 8, but the model takes sequences of 16 tokens`);
    await expect(loadDataSource(source, { inputShape: [28, 28, 1] })).rejects.toThrow(`${dir}: text needs a model that takes token sequences [tokens], but the model takes [28, 28, 1]`);
    expect(isTextSource(source)).toBe(true);
    expect(isTextSource({ format: 'benchmark', dataset: 'spam-assassin' })).toBe(true);
    expect(isTextSource({ format: 'benchmark', dataset: 'fashion-mnist' })).toBe(false);
  });

  test('spam-assassin: the committed subset (ham, spam; three mailbox sets), or a --data-dir with the whole corpus', async () => {
    const data = await loadDataset('spam-assassin', { maxTokens: 32 });
    expect(data.origin).toBe('subset');
    expect(data.source).toBe(`committed subset ${spamAssassinSubsetDir()} (32 byte tokens)`);
    expect([data.train.name, data.train.count, data.test.count, data.train.classNames, data.train.sampleShape]).toEqual(['spam-assassin', 450, 225, ['ham', 'spam'], [32]]);
    // easy-ham and hard-ham are ham: two thirds of each split.
    expect(data.train.labels.filter((l) => l === 0).length).toBe(300);
    expect(detokenize(data.train.features.subarray(0, 32)).startsWith('Subject: ')).toBe(true);
    // The mailbox sets, 150 train mails each, for --partition group.
    expect(data.train.groups!.names).toEqual(['easy-ham', 'hard-ham', 'spam']);
    expect([0, 1, 2].map((k) => data.train.groups!.of.filter((x) => x === k).length)).toEqual([150, 150, 150]);
    const full = folder({ 'train.jsonl': line('a', 'spam'), 'test.jsonl': line('b', 'ham') });
    const own = await loadDataSource({ format: 'benchmark', dataset: 'spam-assassin', dataDir: full });
    expect([own.origin, own.train.count, Array.from(own.test.labels)]).toEqual(['data-dir', 1, [0]]);
    expect(() => resolveDatasetSource('spam-assassin', { dataDir: join(root, 'none') })).toThrow(/spam-assassin: data directory .*none does not exist; expected a folder with train\.jsonl and test\.jsonl/);
  });
});
