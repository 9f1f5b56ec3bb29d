/**
 * The arithmetic of `bench load`: what each synthetic client uploads, and the
 * check that the coordinator's new global adapter is the previous one plus the
 * weighted mean of exactly the acknowledged uploads, each counted once.
 *
 * Update design. Flatten the update's tensors into one vector; element k < N
 * (N = clients of the run) is client k's slot. Client k's delta in round t is
 *   spike(k, t) > 0 in its own slot, 0 in every other client's slot,
 *   a dense pseudo-random pattern (|x| <= DENSE/2, distinct per (k, t, element))
 *   in every element past the slots.
 * With weights w_k (numSamples), the coordinator's step in slot k is
 *   c_k w_k spike(k, t) / sum_i c_i w_i, c_k = how often k was counted,
 * so a lost client (c_k = 0) leaves its slot unchanged and a doubled one
 * (c_k = 2) doubles its share: a change of ~w_k spike / W (6e-6 with 200
 * clients), about 500x the float32 rounding the check tolerates. The slots
 * also give each c_k back from the global alone (decodeMultiplicities).
 *
 * One limit of any weighted mean: every client counted k times gives the same
 * mean as every client counted once. The ledger checks (no duplicates, equal
 * to the acknowledged set) cover that case.
 */
import { sizeOfShape, specOf, type NamedTensor, type TensorSpec } from '@pfedlora/core';

/** Slot value scale: large against float32 rounding of the global, small against the adapter (|x| < 0.045). */
export const LOAD_SPIKE = 1e-2;
/** Dense pattern scale: zero-mean, so 50 rounds move the global by ~DENSE, not 50 x DENSE. */
export const LOAD_DENSE = 1e-4;

/** float32 unit roundoff: one rounding to float32 moves x by at most |x| 2^-24. */
const F32_ROUNDOFF = 2 ** -24;

/** Client `index`'s slot value in `round` (> 0; distinct rounds give distinct values). */
export function loadSpike(index: number, round: number): number {
  return Math.fround(LOAD_SPIKE * (1 + ((index + round) % 4) / 4));
}

// Module bindings, not global lookups, in the hot loops: under jest's vm context every global
// (Math included) is looked up through an interceptor, ~20x slower.
const imul = Math.imul;
const abs = Math.abs;

/** A well-mixed hash of three small integers into [0, 1) (deterministic: the driver regenerates every delta). */
function unitHash(a: number, b: number, c: number): number {
  let h = imul(a + 1, 0x9e3779b1) ^ imul(b + 1, 0x85ebca6b) ^ imul(c + 1, 0xc2b2ae35);
  h = imul(h ^ (h >>> 16), 0x7feb352d);
  h = imul(h ^ (h >>> 15), 0x846ca68b);
  h ^= h >>> 16;
  return (h >>> 0) / 2 ** 32;
}

function elementCount(spec: readonly TensorSpec[]): number {
  return spec.reduce((n, t) => n + sizeOfShape(t.shape), 0);
}

/** The delta client `index` (of `slots` clients) uploads in `round`, in the update's shapes. */
export function loadDelta(spec: readonly TensorSpec[], slots: number, index: number, round: number): NamedTensor[] {
  const elements = elementCount(spec);
  if (!Number.isInteger(slots) || slots < 1 || slots > elements) throw new RangeError(`bench load needs one update element per client: ${slots} clients, ${elements} elements (raise the rank)`);
  if (!Number.isInteger(index) || index < 0 || index >= slots) throw new RangeError(`client index ${index} is not in [0, ${slots})`);
  const spike = loadSpike(index, round);
  let flat = 0;
  return spec.map((t) => {
    const values = new Float32Array(sizeOfShape(t.shape));
    for (let j = 0; j < values.length; j++, flat++) {
      if (flat < slots) values[j] = flat === index ? spike : 0;
      else values[j] = LOAD_DENSE * (unitHash(index, round, flat) - 0.5);
    }
    return { name: t.name, shape: [...t.shape], values };
  });
}

export interface WeightedDelta {
  readonly tensors: readonly NamedTensor[];
  readonly weight: number;
}

/** sum_k w_k d_k / sum_k w_k in float64, one flat array per tensor (zeros when there is no update). */
export function weightedMeanDelta(spec: readonly TensorSpec[], updates: readonly WeightedDelta[]): Float64Array[] {
  const sums = spec.map((t) => new Float64Array(sizeOfShape(t.shape)));
  let total = 0;
  for (const u of updates) {
    total += u.weight;
    u.tensors.forEach((t, i) => {
      const sum = sums[i]!;
      for (let j = 0; j < sum.length; j++) sum[j] += u.weight * t.values[j]!;
    });
  }
  if (total > 0) for (const sum of sums) for (let j = 0; j < sum.length; j++) sum[j] /= total;
  return sums;
}

/** A client of the run: its slot is its index. */
export interface LoadParticipant {
  readonly clientId: string;
  readonly index: number;
  /** numSamples it joined with: its aggregation weight. */
  readonly weight: number;
}

export interface RoundEvidence {
  readonly round: number;
  /** Every client of the run, clients[k].index === k. */
  readonly clients: readonly LoadParticipant[];
  /** Clients whose upload of this round the coordinator acknowledged. */
  readonly ackedIds: readonly string[];
  /** Clients the ledger lists as 'reported' for this round, in its order. */
  readonly ledgerReported: readonly string[];
  /** The global adapter before the round and after it, as the coordinator stored them. */
  readonly previous: readonly NamedTensor[];
  readonly next: readonly NamedTensor[];
}

export interface ElementMismatch {
  readonly tensor: string;
  readonly index: number;
  readonly expected: number;
  readonly actual: number;
  readonly tolerance: number;
}

export interface RoundCheck {
  readonly round: number;
  /** Acknowledged uploads. */
  readonly expected: number;
  /** Sum of the multiplicities decoded from the global. */
  readonly counted: number;
  /** Acknowledged clients the global does not contain. */
  readonly lost: string[];
  /** Clients the global contains more than once (each listed once). */
  readonly doubled: string[];
  /** Extra counts: sum over clients of max(0, multiplicity - 1). */
  readonly doubleCounts: number;
  /** Clients in the global whose upload was not acknowledged. */
  readonly unexpected: string[];
  /** Elements where actual step and expected mean differ by more than the tolerance. */
  readonly mismatches: number;
  /** The element with the largest error among those outside their tolerance, if any. */
  readonly worst?: ElementMismatch;
  /** Largest |actual step - expected mean| over all elements. */
  readonly maxAbsError: number;
  /** Human-readable failures; empty when the round checks out. */
  readonly problems: string[];
}

/**
 * How often each client's update is in the step next - previous, from the
 * slots alone: slot k holds c_k w_k s_k / W', so r_k = step_k / (w_k s_k) =
 * c_k / W' and c_k = r_k / (smallest clearly non-zero r). Assumes some client
 * is counted exactly once (see the module comment).
 */
export function decodeMultiplicities(step: Float64Array, tolerance: Float64Array, clients: readonly LoadParticipant[], round: number): number[] {
  const r = clients.map((c) => step[c.index]! / (c.weight * loadSpike(c.index, round)));
  // "Clearly non-zero": far above the rounding the slot may carry.
  const present = clients.map((c, k) => step[c.index]! > 16 * tolerance[c.index]! && r[k]! > 0);
  const unit = Math.min(...r.filter((_, k) => present[k]));
  if (!Number.isFinite(unit)) return clients.map(() => 0);
  return r.map((x, k) => (present[k] ? Math.round(x / unit) : 0));
}

function duplicates(ids: readonly string[]): string[] {
  const seen = new Set<string>();
  const twice = new Set<string>();
  for (const id of ids) (seen.has(id) ? twice : seen).add(id);
  return [...twice];
}

const list = (ids: readonly string[], max = 5) => (ids.length <= max ? ids.join(', ') : `${ids.slice(0, max).join(', ')} and ${ids.length - max} more`);

/**
 * Checks one round: the ledger's reporters against the acknowledged uploads,
 * and next - previous against the weighted mean of the acknowledged deltas,
 * element by element. The coordinator computes next = f32(previous +
 * f32(mean)) from float64 sums, so |step - mean| <= 2^-24 (|mean| + |next|);
 * the tolerance is twice that.
 */
export function checkRound(e: RoundEvidence): RoundCheck {
  const problems: string[] = [];
  const spec = specOf(e.previous);
  const slots = e.clients.length;
  e.clients.forEach((c, k) => {
    if (c.index !== k) throw new RangeError(`clients[${k}] has index ${c.index}`);
  });
  const byId = new Map(e.clients.map((c) => [c.clientId, c]));

  // The ledger: each reporter once, and exactly the acknowledged clients.
  const ledgerTwice = duplicates(e.ledgerReported);
  if (ledgerTwice.length > 0) problems.push(`round ${e.round}: the ledger lists ${list(ledgerTwice)} more than once`);
  const acked = new Set(e.ackedIds);
  const ledgerSet = new Set(e.ledgerReported);
  const ackedNotInLedger = [...acked].filter((id) => !ledgerSet.has(id));
  const ledgerNotAcked = [...ledgerSet].filter((id) => !acked.has(id));
  if (ackedNotInLedger.length > 0) problems.push(`round ${e.round}: acknowledged but not in the ledger: ${list(ackedNotInLedger)}`);
  if (ledgerNotAcked.length > 0) problems.push(`round ${e.round}: in the ledger but not acknowledged: ${list(ledgerNotAcked)}`);

  // The arithmetic: expected mean of the acknowledged deltas against the actual step.
  const ackedClients = [...acked].map((id) => {
    const c = byId.get(id);
    if (!c) throw new RangeError(`acknowledged client ${id} is not a client of the run`);
    return c;
  });
  const mean = weightedMeanDelta(
    spec,
    ackedClients.map((c) => ({ tensors: loadDelta(spec, slots, c.index, e.round), weight: c.weight })),
  );
  const expected = concat(mean);
  const before = concat(e.previous.map((t) => t.values));
  const after = concat(e.next.map((t) => t.values));
  if (after.length !== before.length) throw new RangeError(`round ${e.round}: the global changed size (${before.length} -> ${after.length} elements)`);
  const step = new Float64Array(after.length);
  const tolerance = new Float64Array(after.length);
  let mismatches = 0;
  let maxAbsError = 0;
  let worst: ElementMismatch | undefined;
  let worstError = 0;
  let worstFlat = -1;
  for (let j = 0; j < after.length; j++) {
    step[j] = after[j]! - before[j]!;
    tolerance[j] = 2 * F32_ROUNDOFF * (abs(expected[j]!) + abs(after[j]!));
    const err = abs(step[j]! - expected[j]!);
    if (err > maxAbsError) maxAbsError = err;
    if (err > tolerance[j]!) {
      mismatches++;
      // Largest absolute error: a lost or doubled client's slot stands out (the dense part moves less).
      if (!worst || err > worstError) {
        worstError = err;
        worstFlat = j;
        const { tensor, index } = locate(spec, j);
        worst = { tensor, index, expected: expected[j]!, actual: step[j]!, tolerance: tolerance[j]! };
      }
    }
  }
  if (worst) {
    const owner = worstFlat < slots ? ` (client ${e.clients[worstFlat]!.clientId}'s slot)` : '';
    problems.push(
      `round ${e.round}: the global's step differs from the weighted mean of the ${acked.size} acknowledged updates in ${mismatches} element(s); ` +
        `worst ${worst.tensor}[${worst.index}]${owner}: expected ${worst.expected.toExponential(6)}, actual ${worst.actual.toExponential(6)} (tolerance ${worst.tolerance.toExponential(2)})`,
    );
  }

  // Who is in the global, and how often.
  const multiplicity = decodeMultiplicities(step, tolerance, e.clients, e.round);
  const lost: string[] = [];
  const doubled: string[] = [];
  const unexpected: string[] = [];
  let counted = 0;
  let doubleCounts = 0;
  e.clients.forEach((c, k) => {
    const m = multiplicity[k]!;
    counted += m;
    if (acked.has(c.clientId) && m === 0) lost.push(c.clientId);
    if (!acked.has(c.clientId) && m > 0) unexpected.push(c.clientId);
    if (m > 1) {
      doubled.push(c.clientId);
      doubleCounts += m - 1;
    }
  });
  if (lost.length > 0) problems.push(`round ${e.round}: acknowledged updates missing from the global: ${list(lost)}`);
  if (doubled.length > 0) problems.push(`round ${e.round}: updates counted more than once: ${list(doubled.map((id) => `${id} x${multiplicity[byId.get(id)!.index]}`))}`);
  if (unexpected.length > 0) problems.push(`round ${e.round}: updates in the global that were not acknowledged: ${list(unexpected)}`);
  return { round: e.round, expected: acked.size, counted, lost, doubled, doubleCounts, unexpected, mismatches, ...(worst ? { worst } : {}), maxAbsError, problems };
}

/** One float64 vector of the parts, in order (the update flattened). */
function concat(parts: readonly (Float32Array | Float64Array)[]): Float64Array {
  const out = new Float64Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** Tensor name and index within it of flat element j. */
function locate(spec: readonly TensorSpec[], j: number): { tensor: string; index: number } {
  let start = 0;
  for (const t of spec) {
    const n = sizeOfShape(t.shape);
    if (j < start + n) return { tensor: t.name, index: j - start };
    start += n;
  }
  throw new RangeError(`element ${j} is past the update's ${start} elements`);
}
