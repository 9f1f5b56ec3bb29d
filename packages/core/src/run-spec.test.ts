import fc from 'fast-check';
import { checkRunField, DEFAULT_RUN, pickRunSpec, RUN_FIELD_NAMES, RUN_FIELDS, validateRunSpec, type RunField } from './run-spec';

describe('run spec, declared once', () => {
  test('the defaults are the paper setting and pass their own checks', () => {
    expect(DEFAULT_RUN).toMatchObject({ learningRate: 0.01, momentum: 0.9, weightDecay: 1e-3, clipNorm: 50, rank: 8, representationDim: 500, adapterEpochs: 10, batchSize: 64 });
    expect(() => validateRunSpec(DEFAULT_RUN)).not.toThrow();
  });

  test('every field has its own flag', () => {
    const flags = RUN_FIELD_NAMES.map((n) => RUN_FIELDS[n].flag);
    expect(new Set(flags).size).toBe(flags.length);
  });

  test('a value outside its declared range is refused naming the field', () => {
    for (const name of RUN_FIELD_NAMES) {
      const field: RunField = RUN_FIELDS[name];
      const bad = field.kind === 'choice' ? '' : field.kind === 'int' ? field.max + 1 : Number.NaN;
      expect(checkRunField(name, bad)).toBeDefined();
      expect(() => validateRunSpec({ ...DEFAULT_RUN, [name]: bad })).toThrow(new RegExp(`^${name} `));
    }
    expect(() => validateRunSpec({ ...DEFAULT_RUN, rank: 64, representationDim: 32 })).toThrow('rank 64 exceeds the representation width d = 32');
  });

  test('pickRunSpec keeps exactly the declared fields, whatever else a config holds', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string().filter((k) => !(k in RUN_FIELDS) && k !== '__proto__'), fc.integer()), (extra) => {
        const picked = pickRunSpec({ ...extra, ...DEFAULT_RUN });
        expect(Object.keys(picked).sort()).toEqual([...RUN_FIELD_NAMES].sort());
        expect(picked).toEqual(DEFAULT_RUN);
      }),
    );
  });
});
