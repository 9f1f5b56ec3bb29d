import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { DataError, loadCsvData, parseCsv, stratifiedSplit, type CsvOptions } from './csv';

let root: string;
let counter = 0;
beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'pfedlora-csv-'));
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** A fresh folder holding the given files. */
function folder(files: Record<string, string>): string {
  const dir = join(root, `case-${counter++}`);
  mkdirSync(dir);
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}

/** The DataError message of a load that must fail. */
async function failure(options: CsvOptions): Promise<string> {
  const err = await loadCsvData(options).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(DataError);
  return (err as DataError).message;
}

function close(actual: Float32Array, expected: number[]): void {
  expect(actual.length).toBe(expected.length);
  expected.forEach((v, i) => expect(actual[i]).toBeCloseTo(v, 5));
}

describe('loadCsvData: reading', () => {
  test('train.csv + test.csv with a BOM, CRLF, quoted cells and "" escapes', async () => {
    const dir = folder({
      'train.csv': '\uFEFF"x",y,label\r\n1,10,"cat, the ""big"" one"\r\n"3",10,dog\r\n',
      'test.csv': 'x,y,label\r\n5,12,dog', // no final line break
    });
    const data = await loadCsvData({ dir, labelColumn: 'label' });
    expect(data.train.classNames).toEqual(['cat, the "big" one', 'dog']);
    expect(data.train.count).toBe(2);
    expect(data.test.count).toBe(1);
    expect(data.train.sampleShape).toEqual([2]);
    expect(data.train.numClasses).toBe(2);
    expect(Array.from(data.train.labels)).toEqual([0, 1]);
    expect(Array.from(data.test.labels)).toEqual([1]);
    // x: mean 2, std 1; y: std 0 -> 1, mean 10.
    close(data.train.features, [-1, 0, 1, 0]);
    close(data.test.features, [3, 2]);
    expect(data.train.name).toBe(`csv ${join(dir, 'train.csv')} (train)`);
    expect(data.source).toBe(`${join(dir, 'train.csv')} + ${join(dir, 'test.csv')}`);
  });

  test('standardization uses the train split only', async () => {
    const xs = [2, 4, 4, 4, 5, 5, 7, 9]; // mean 5, population std 2
    const train = ['x,label', ...xs.map((x, i) => `${x},${i % 2 ? 'b' : 'a'}`)].join('\n') + '\n';
    const test = 'x,label\n5,a\n11,b\n1,a\n\n'; // trailing empty line
    const dir = folder({ 'train.csv': train, 'test.csv': test });
    const data = await loadCsvData({ dir, labelColumn: 'label' });
    close(data.train.features, [-1.5, -0.5, -0.5, -0.5, 0, 0, 1, 2]);
    close(data.test.features, [0, 3, -2]);
  });

  test('label column in any position; label values are names, "0" and "1" too, sorted numerically', async () => {
    const dir = folder({
      'train.csv': 'label,a,b\n10,1,2\n2,3,4\n1,5,6\n',
      'test.csv': 'label,a,b\n2,1,1\n',
    });
    const data = await loadCsvData({ dir, labelColumn: 'label' });
    expect(data.train.classNames).toEqual(['1', '2', '10']);
    expect(Array.from(data.train.labels)).toEqual([2, 1, 0]);
    expect(data.train.sampleShape).toEqual([2]);
  });

  test('explicit trainFile / testFile, relative to dir', async () => {
    const dir = folder({ 'a.csv': 'f,l\n1,x\n2,y\n', 'b.csv': 'f,l\n3,x\n' });
    const data = await loadCsvData({ dir, trainFile: 'a.csv', testFile: 'b.csv', labelColumn: 'l' });
    expect([data.train.count, data.test.count]).toEqual([2, 1]);
    close(data.test.features, [3]);
  });

  test('the run classes map labels by name, in the run order', async () => {
    const dir = folder({ 'train.csv': 'f,l\n1,a\n2,b\n', 'test.csv': 'f,l\n3,a\n' });
    const data = await loadCsvData({ dir, labelColumn: 'l', classNames: ['c', 'b', 'a'] });
    expect(data.train.classNames).toEqual(['c', 'b', 'a']);
    expect(data.train.numClasses).toBe(3);
    expect(Array.from(data.train.labels)).toEqual([2, 1]);
    expect(Array.from(data.test.labels)).toEqual([2]);
  });
});

describe('loadCsvData: split of one table', () => {
  const rows = (n: number): string => {
    const lines = ['id,v,label'];
    for (let i = 0; i < n; i++) lines.push(`${i},${(i * 7) % 5},${i % 5 < 3 ? 'big' : 'small'}`);
    return lines.join('\n') + '\n';
  };

  test('data.csv: seeded, deterministic, stratified, disjoint and complete', async () => {
    const dir = folder({ 'data.csv': rows(50) }); // 30 big, 20 small
    const a = await loadCsvData({ dir, labelColumn: 'label', seed: 7 });
    const b = await loadCsvData({ dir, labelColumn: 'label', seed: 7 });
    const c = await loadCsvData({ dir, labelColumn: 'label', seed: 8 });
    expect(a.train.count + a.test.count).toBe(50);
    expect(a.test.count).toBe(10);
    const perClass = (labels: Int32Array): number[] => [0, 1].map((k) => labels.filter((l) => l === k).length);
    expect(perClass(a.test.labels)).toEqual([6, 4]);
    expect(Array.from(a.train.features)).toEqual(Array.from(b.train.features));
    expect(Array.from(a.test.features)).toEqual(Array.from(b.test.features));
    expect(Array.from(a.test.features)).not.toEqual(Array.from(c.test.features));
    // The id column standardizes with one increasing affine map, so 50 distinct values
    // across both splits means every row went to exactly one split.
    const ids = [...a.train.features.filter((_, i) => i % 2 === 0), ...a.test.features.filter((_, i) => i % 2 === 0)];
    expect(new Set(ids).size).toBe(50);
    expect(a.source).toBe(`${join(dir, 'data.csv')} (test fraction 0.2, seed 7)`);
  });

  test('the only *.csv in a folder is split; testFraction is honoured', async () => {
    const dir = folder({ 'mine.CSV': rows(20), 'notes.txt': 'x' });
    const data = await loadCsvData({ dir, labelColumn: 'label', testFraction: 0.5 });
    expect([data.train.count, data.test.count]).toEqual([10, 10]);
  });

  test('train stats only: the split standardizes with the train rows', async () => {
    const dir = folder({ 'data.csv': rows(10) });
    const data = await loadCsvData({ dir, labelColumn: 'label', seed: 3 });
    const trainIds = data.train.features.filter((_, i) => i % 2 === 0);
    const mean = trainIds.reduce((s, v) => s + v, 0) / trainIds.length;
    const variance = trainIds.reduce((s, v) => s + (v - mean) ** 2, 0) / trainIds.length;
    expect(mean).toBeCloseTo(0, 5);
    expect(variance).toBeCloseTo(1, 5);
  });

  test('stratifiedSplit: disjoint, complete, sized, deterministic (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 4 }), { minLength: 2, maxLength: 200 }),
        fc.double({ min: 0.01, max: 0.99, noNaN: true }),
        fc.integer(),
        (raw, fraction, seed) => {
          const labels = Int32Array.from(raw);
          const { train, test } = stratifiedSplit(labels, 5, fraction, seed);
          const n = labels.length;
          expect(test.length).toBe(Math.min(n - 1, Math.max(1, Math.round(n * fraction))));
          expect([...train, ...test].sort((x, y) => x - y)).toEqual(Array.from({ length: n }, (_, i) => i));
          const again = stratifiedSplit(labels, 5, fraction, seed);
          expect(Array.from(again.test)).toEqual(Array.from(test));
          // Proportional: each class gets its share of the test rows, give or take one.
          for (let k = 0; k < 5; k++) {
            const size = raw.filter((l) => l === k).length;
            const got = Array.from(test).filter((i) => labels[i] === k).length;
            expect(Math.abs(got - (size * test.length) / n)).toBeLessThanOrEqual(1 + 1e-9);
          }
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe('loadCsvData: bad input names the file, the line and the column', () => {
  test('missing file', async () => {
    const dir = folder({});
    const path = join(dir, 'nope.csv');
    expect(await failure({ trainFile: path, labelColumn: 'l' })).toBe(`${path}: no such file`);
  });

  test('missing folder; folder without a CSV; folder with several', async () => {
    const none = join(root, 'does-not-exist');
    expect(await failure({ dir: none, labelColumn: 'l' })).toBe(`${none}: no such directory`);
    const empty = folder({ 'readme.txt': 'hi' });
    expect(await failure({ dir: empty, labelColumn: 'l' })).toBe(
      `${empty}: no CSV file; expected train.csv + test.csv, data.csv, or exactly one *.csv`,
    );
    const two = folder({ 'a.csv': 'x', 'b.csv': 'y' });
    expect(await failure({ dir: two, labelColumn: 'l' })).toBe(
      `${two}: 2 CSV files ("a.csv", "b.csv") and no train.csv + test.csv or data.csv; name them train.csv and test.csv, or keep exactly one`,
    );
  });

  test('no header (empty file)', async () => {
    const dir = folder({ 'data.csv': '\n\n' });
    expect(await failure({ dir, labelColumn: 'l' })).toBe(`${join(dir, 'data.csv')}:1: empty file; expected a header row naming the columns`);
  });

  test('ragged row', async () => {
    const dir = folder({ 'train.csv': 'a,b,l\n1,2,x\n1,2\n', 'test.csv': 'a,b,l\n1,2,x\n' });
    expect(await failure({ dir, labelColumn: 'l' })).toBe(`${join(dir, 'train.csv')}:3: 2 cells, but the header (line 1) has 3 columns`);
  });

  test('non-numeric cell shows the value and the column; line numbers count quoted line breaks', async () => {
    const dir = folder({ 'train.csv': 'a,b,l\n1,2,"multi\nline"\n1,abc,x\n', 'test.csv': 'a,b,l\n1,2,x\n' });
    expect(await failure({ dir, labelColumn: 'l' })).toBe(`${join(dir, 'train.csv')}:4: column "b" (column 2): "abc" is not a number`);
  });

  test('empty cell and empty label', async () => {
    const dir = folder({ 'train.csv': 'a,b,l\n1,,x\n', 'test.csv': 'a,b,l\n1,2,x\n' });
    expect(await failure({ dir, labelColumn: 'l' })).toBe(`${join(dir, 'train.csv')}:2: column "b" (column 2): empty cell; every feature must be a number`);
    const dir2 = folder({ 'train.csv': 'a,b,l\n1,2,x\n', 'test.csv': 'a,b,l\n1,2, \n' });
    expect(await failure({ dir: dir2, labelColumn: 'l' })).toBe(`${join(dir2, 'test.csv')}:2: column "l" (column 3): empty label`);
  });

  test('infinite and NaN values are not numbers', async () => {
    const dir = folder({ 'train.csv': 'a,l\nInfinity,x\n', 'test.csv': 'a,l\n1,x\n' });
    expect(await failure({ dir, labelColumn: 'l' })).toBe(`${join(dir, 'train.csv')}:2: column "a" (column 1): "Infinity" is not a number`);
  });

  test('label column missing lists the columns', async () => {
    const dir = folder({ 'train.csv': 'a,b,class\n1,2,x\n', 'test.csv': 'a,b,class\n1,2,x\n' });
    expect(await failure({ dir, labelColumn: 'label' })).toBe(
      `${join(dir, 'train.csv')}:1: no column named "label" in the header (--label-column); columns: "a", "b", "class"`,
    );
  });

  test('zero samples in train or in test', async () => {
    const dir = folder({ 'train.csv': 'a,l\n', 'test.csv': 'a,l\n1,x\n' });
    expect(await failure({ dir, labelColumn: 'l' })).toBe(`${join(dir, 'train.csv')}: no data rows after the header`);
    const dir2 = folder({ 'train.csv': 'a,l\n1,x\n', 'test.csv': 'a,l\r\n\r\n' });
    expect(await failure({ dir: dir2, labelColumn: 'l' })).toBe(`${join(dir2, 'test.csv')}: no data rows after the header`);
    const dir3 = folder({ 'data.csv': 'a,l\n1,x\n' });
    expect(await failure({ dir: dir3, labelColumn: 'l' })).toBe(
      `${join(dir3, 'data.csv')}: only 1 data row (line 2); a train/test split needs at least 2`,
    );
  });

  test('test header differs from train', async () => {
    const dir = folder({ 'train.csv': 'a,b,l\n1,2,x\n', 'test.csv': 'a,c,l\n1,2,x\n' });
    expect(await failure({ dir, labelColumn: 'l' })).toBe(
      `${join(dir, 'test.csv')}:1: header differs from ${join(dir, 'train.csv')}: column 2 is "c" where the train file has "b" (train columns: "a", "b", "l")`,
    );
    const dir2 = folder({ 'train.csv': 'a,b,l\n1,2,x\n', 'test.csv': 'a,b,l,d\n1,2,x,3\n' });
    expect(await failure({ dir: dir2, labelColumn: 'l' })).toBe(
      `${join(dir2, 'test.csv')}:1: header differs from ${join(dir2, 'train.csv')}: 4 columns where the train file has 3 (train columns: "a", "b", "l")`,
    );
  });

  test('duplicate and empty header names', async () => {
    const dir = folder({ 'data.csv': 'a,a,l\n1,2,x\n' });
    expect(await failure({ dir, labelColumn: 'l' })).toBe(`${join(dir, 'data.csv')}:1: header names column "a" twice (columns 1 and 2)`);
    const dir2 = folder({ 'data.csv': 'a,,l\n1,2,x\n' });
    expect(await failure({ dir: dir2, labelColumn: 'l' })).toBe(`${join(dir2, 'data.csv')}:1: header column 2 has no name`);
    const dir3 = folder({ 'data.csv': 'l\nx\ny\n' });
    expect(await failure({ dir: dir3, labelColumn: 'l' })).toBe(`${join(dir3, 'data.csv')}:1: the header has no feature columns besides the label column "l"`);
  });

  test('broken quoting', async () => {
    const dir = folder({ 'data.csv': 'a,l\n1,x\n2,"never closed\n3,y\n' });
    expect(await failure({ dir, labelColumn: 'l' })).toBe(
      `${join(dir, 'data.csv')}:3: quoted cell 2 is never closed (a " opened on line 3 has no closing ")`,
    );
    const dir2 = folder({ 'data.csv': 'a,l\n1,"say "hi""\n' });
    expect(await failure({ dir: dir2, labelColumn: 'l' })).toBe(
      `${join(dir2, 'data.csv')}:2: cell 2: "h" after a closing quote; write a quote inside a quoted cell as ""`,
    );
  });

  test('a label outside the run classes names file, line, label and the allowed names (truncated)', async () => {
    const dir = folder({ 'train.csv': 'f,l\n1,a\n2,zebra\n', 'test.csv': 'f,l\n3,a\n' });
    expect(await failure({ dir, labelColumn: 'l', classNames: ['a', 'b'] })).toBe(
      `${join(dir, 'train.csv')}:3: label "zebra" (column "l") is not one of the run's 2 classes: "a", "b"`,
    );
    const many = Array.from({ length: 30 }, (_, i) => `c${i}`);
    const msg = await failure({ dir, labelColumn: 'l', classNames: [...many, 'a'] });
    expect(msg).toContain(`${join(dir, 'train.csv')}:3: label "zebra" (column "l") is not one of the run's 31 classes: "c0", "c1",`);
    expect(msg).toMatch(/"c19", \.\.\. \(11 more\)$/);
  });

  test('options: test fraction, label column, files', async () => {
    const dir = folder({ 'data.csv': 'a,l\n1,x\n2,y\n' });
    expect(await failure({ dir, labelColumn: 'l', testFraction: 1 })).toBe('csv: test fraction 1 is not in (0, 1) (--test-fraction)');
    expect(await failure({ dir, labelColumn: ' ' })).toBe('csv: the label column name is empty (--label-column)');
    expect(await failure({ labelColumn: 'l' })).toBe('csv: give a data folder (--data-dir) or a train file');
    expect(await failure({ dir, labelColumn: 'l', classNames: ['x', 'x'] })).toBe(`csv: the run's class list names "x" twice`);
  });
});

describe('parseCsv', () => {
  test('records, line numbers, empty cells, lone CR, BOM', () => {
    expect(parseCsv('\uFEFFa,b\r\n,\r"x\ny",""\n\n', 'f')).toEqual([
      { cells: ['a', 'b'], line: 1 },
      { cells: ['', ''], line: 2 },
      { cells: ['x\ny', ''], line: 3 },
      { cells: [''], line: 5 },
    ]);
    expect(parseCsv('', 'f')).toEqual([]);
    expect(parseCsv('a,b,', 'f')).toEqual([{ cells: ['a', 'b', ''], line: 1 }]);
    expect(parseCsv('5\'10",x', 'f')).toEqual([{ cells: ['5\'10"', 'x'], line: 1 }]);
  });

  test('any table quoted per RFC 4180 parses back to the same cells (property)', () => {
    const cell = fc.string({ unit: fc.constantFrom('a', 'Z', '0', ' ', ',', '"', '\n', '\r', 'é', '\t'), maxLength: 8 });
    const table = fc.array(fc.array(cell, { minLength: 1, maxLength: 5 }), { minLength: 1, maxLength: 8 });
    fc.assert(
      fc.property(
        table,
        fc.constantFrom('\r\n', '\n'),
        fc.boolean(),
        fc.boolean(),
        fc.boolean(),
        (rows, eol, trailingEol, bom, quoteAll) => {
          const quote = (s: string): string => `"${s.replace(/"/g, '""')}"`;
          const encoded = rows.map((cells, r) => {
            // A row of one empty cell at the very end, without a final line break, would be invisible: quote it.
            const lastBlank = r === rows.length - 1 && !trailingEol && cells.length === 1 && cells[0] === '';
            return cells.map((c) => (quoteAll || lastBlank || /[",\r\n]/.test(c) ? quote(c) : c)).join(',');
          });
          const text = (bom ? '\uFEFF' : '') + encoded.join(eol) + (trailingEol ? eol : '');
          expect(parseCsv(text, 'prop.csv').map((r) => r.cells)).toEqual(rows);
        },
      ),
      { numRuns: 500 },
    );
  });
});

describe('csv ignored columns', () => {
  test('--ignore-columns drops ids and dates from the features, and names a column that is not there', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pfedlora-csv-ignore-'));
    const file = join(dir, 'weather.csv');
    writeFileSync(file, 'date,rain,wind,weather\n2012-01-01,0,4,sun\n2012-01-02,10,5,rain\n2012-01-03,1,3,sun\n2012-01-04,8,6,rain\n2012-01-05,0,2,sun\n');
    const splits = await loadCsvData({ trainFile: file, labelColumn: 'weather', ignoreColumns: ['date'], testFraction: 0.4 });
    expect(splits.train.sampleShape).toEqual([2]);
    expect(splits.train.classNames).toEqual(['rain', 'sun']);
    await expect(loadCsvData({ trainFile: file, labelColumn: 'weather' })).rejects.toThrow(`${file}:2: column "date" (column 1): "2012-01-01" is not a number`);
    await expect(loadCsvData({ trainFile: file, labelColumn: 'weather', ignoreColumns: ['day'] })).rejects.toThrow(`${file}:1: no column named "day" to ignore (--ignore-columns)`);
  });
});
