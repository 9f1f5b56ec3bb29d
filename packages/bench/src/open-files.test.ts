/** The open-file limit check of the fleet benchmarks, against this process's real limits. */
import { readFileSync } from 'node:fs';
import { ensureOpenFiles, parseOpenFileLimits } from './open-files';

describe('open files', () => {
  test('parses the "Max open files" line of /proc/<pid>/limits, unlimited included', () => {
    const table = 'Limit                     Soft Limit           Hard Limit           Units     \nMax open files            1024                 524288               files     \n';
    expect(parseOpenFileLimits(table)).toEqual({ soft: 1024, hard: 524288 });
    expect(parseOpenFileLimits('Max open files            unlimited            unlimited            files\n')).toEqual({ soft: Infinity, hard: Infinity });
    expect(parseOpenFileLimits('Max processes 10 10 processes\n')).toBeUndefined();
  });

  const limits = (() => {
    try {
      return parseOpenFileLimits(readFileSync('/proc/self/limits', 'utf8'));
    } catch {
      return undefined;
    }
  })();
  const onLinux = limits ? test : test.skip;

  onLinux('within the soft limit nothing happens; past the hard limit it throws naming the limit and the fix', () => {
    const notes: string[] = [];
    ensureOpenFiles(limits!.soft, 'a small run', (line) => notes.push(line));
    expect(notes).toEqual([]);
    if (limits!.hard === Infinity) return;
    expect(() => ensureOpenFiles(limits!.hard + 1, 'bench load --clients huge')).toThrow(
      new RegExp(`bench load --clients huge needs about ${limits!.hard + 1} open files per process, the hard limit is ${limits!.hard} \\(ulimit -Hn\\).*ulimit -n ${limits!.hard + 1}`),
    );
  });
});
