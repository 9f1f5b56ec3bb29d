import fc from 'fast-check';
import { z } from 'zod';
import { assertValid, integerIn, listOf, numberWhere, objectWith, oneOf, text } from './validation';

const problem = (schema: z.ZodType, value: unknown) => {
  try {
    assertValid(schema, value);
    return undefined;
  } catch (error) {
    return (error as Error).message;
  }
};

describe('config field schemas', () => {
  test('integerIn admits exactly the integers of its range', () => {
    fc.assert(
      fc.property(fc.integer({ min: -50, max: 50 }), fc.integer({ min: 0, max: 50 }), fc.double({ noNaN: false }), (min, width, x) => {
        const schema = integerIn(min, min + width);
        const ok = Number.isInteger(x) && x >= min && x <= min + width;
        expect(schema.safeParse(x).success).toBe(ok);
      }),
    );
  });

  test('messages name the key and the value, nested keys dotted', () => {
    const schema = objectWith({ a: objectWith({ b: listOf(numberWhere((n) => n > 0, '> 0'), 'weights') }), c: oneOf(['x', 'y']), d: text().optional() });
    expect(problem(schema, { a: { b: [1, -2] }, c: 'x' })).toBe('a.b.1 must be > 0, got -2');
    expect(problem(schema, { a: { b: 3 }, c: 'x' })).toBe('a.b must be a list of weights, got 3');
    expect(problem(schema, { a: { b: [] }, c: 'z' })).toBe('c must be one of x, y, got "z"');
    expect(problem(schema, { a: { b: [] }, c: '' })).toBe('c must be a non-empty string, got ');
    expect(problem(schema, { a: { b: [] }, c: 'y', d: 4 })).toBe('d must be a string, got 4');
    expect(problem(schema, { a: 1, c: 'y' })).toBe('a must be an object, got 1');
    expect(problem(schema, { a: { b: [Number.NaN] }, c: 'x' })).toBe('a.b.0 must be a number, got NaN');
    expect(problem(schema, { a: { b: [2] }, c: 'y', extra: true })).toBeUndefined();
    expect(problem(integerIn(1), 0)).toBe('must be an integer >= 1, got 0');
  });
});
