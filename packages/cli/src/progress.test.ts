import { createProgressLines, type ProgressStream } from './progress';

/** A stream that records what is written, a TTY or not. */
function fakeStream(isTTY: boolean): ProgressStream & { text: string } {
  const s = { isTTY, text: '', write: (chunk: string | Uint8Array) => ((s.text += String(chunk)), true) };
  return s as ProgressStream & { text: string };
}

describe('createProgressLines', () => {
  test('not a TTY (a pipe, CI): one time-stamped line per status and note, no escape codes', () => {
    const err = fakeStream(false);
    const out = fakeStream(false);
    let now = 1_000;
    const p = createProgressLines(err, () => now);
    p.status(0, 'clients joined 1/2', 'client-0 joined (1/2)');
    now += 2_500;
    p.status(0.5, 'round 1/2: 1/2 reports');
    p.note('client-1 exited with code 4 before joining');
    p.print(out, 'row\n');
    p.done();
    expect(err.text).toBe('[0.0s] client-0 joined (1/2)\n[2.5s] round 1/2: 1/2 reports\n[2.5s] client-1 exited with code 4 before joining\n');
    expect(out.text).toBe('row\n');
  });

  test('a TTY: the status is the bar, notes go above it, output on another stream clears and redraws it', () => {
    const err = fakeStream(true);
    const out = fakeStream(false);
    const p = createProgressLines(err);
    p.status(0.5, 'round 1/2: 1/2 reports', 'not shown on a TTY');
    expect(err.text).toBe(`\r\x1b[2K[${'#'.repeat(15)}${'-'.repeat(15)}]  50% round 1/2: 1/2 reports`);
    const bar = err.text.slice('\r\x1b[2K'.length);
    err.text = '';
    p.note('client-1 was killed (SIGKILL)');
    expect(err.text).toBe(`\r\x1b[2Kclient-1 was killed (SIGKILL)\n${bar}`);
    err.text = '';
    p.print(out, 'row\n');
    expect(err.text).toBe(`\r\x1b[2K${bar}`);
    expect(out.text).toBe('row\n');
    err.text = '';
    p.done();
    expect(err.text).toBe('\r\x1b[2K');
    expect(err.text).not.toContain('not shown');
  });
});
