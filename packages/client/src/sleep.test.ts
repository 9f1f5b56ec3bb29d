import { getEventListeners } from 'node:events';
import { sleep } from './sleep';

describe('sleep', () => {
  test('leaves no abort listener on its signals, however often it is called (a client may back off for days)', async () => {
    const stop = new AbortController();
    const over = new AbortController();
    for (let i = 0; i < 30; i++) await sleep(1, stop.signal, over.signal);
    expect(getEventListeners(stop.signal, 'abort')).toHaveLength(0);
    expect(getEventListeners(over.signal, 'abort')).toHaveLength(0);
  });

  test('any of its signals cuts it short, and the others are left clean', async () => {
    const stop = new AbortController();
    const over = new AbortController();
    const started = Date.now();
    const waiting = sleep(60_000, stop.signal, over.signal);
    setTimeout(() => over.abort(), 10);
    await waiting;
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(getEventListeners(stop.signal, 'abort')).toHaveLength(0);
    // Already aborted: returns at once.
    const again = Date.now();
    await sleep(60_000, over.signal);
    expect(Date.now() - again).toBeLessThan(1_000);
  });
});
