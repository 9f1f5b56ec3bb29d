import { formatBytes, formatCount } from './units';

test('bytes in binary units, counts in SI units, as their docs show', () => {
  expect([512, 1536, 2 * 1024 ** 3, 1023, -2048, 5 * 1024 ** 5].map(formatBytes)).toEqual(['512 B', '1.5 KiB', '2.0 GiB', '1023 B', '-2.0 KiB', '5120.0 TiB']);
  expect([950, 1500, 3.2e9, 999, -1e6, 2e18].map(formatCount)).toEqual(['950', '1.50K', '3.20G', '999', '-1.00M', '2000.00P']);
  expect([NaN, Infinity].map(formatBytes)).toEqual(['NaN', 'Infinity']);
  expect(formatCount(-Infinity)).toBe('-Infinity');
});
