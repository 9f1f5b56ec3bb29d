/**
 * FedKD (Wu et al., Nature Communications 2022, "Communication-efficient
 * federated learning via knowledge distillation"), after the authors' code
 * (wuch15/FedKD run.py) and HtFLlib (clientkd.py / serverkd.py).
 *
 * Every client keeps its private CNN (the mentor) and trains it together with
 * a copy of one shared mentee model, CNN-5 for images (the smallest zoo model
 * for the run's input kind: MLP-1 for tables, TFM-1 for text; same on
 * every client), by adaptive mutual distillation; only the mentee is federated,
 * and its updates travel as truncated SVD factors.
 *
 * Client step: load the global mentee (its momentum restarts at zero), then E
 * epochs where each batch trains mentor, mentee and a private projection
 * W_h (500 x 500, mentee h -> mentor h) at once:
 *   mentor: CE_t + (KL(p_s || p_t) + MSE(h_t, W_h h_s)) / (CE_t + CE_s)
 *   mentee: CE_s + (KL(p_t || p_s) + MSE(h_t, W_h h_s)) / (CE_t + CE_s)
 * each distillation target detached, and the adaptive weight 1/(CE_t + CE_s)
 * detached too (a coefficient, as the paper describes it; HtFLlib lets
 * gradients flow through it). KL is batchmean, MSE a mean over elements.
 * Upload: the mentee delta. Every weight matrix (dense kernels, conv kernels
 * as [k*k*c_in, c_out]) whose factors are smaller than the matrix goes as
 * U [m, K], S [K], V [n, K] of its truncated SVD; biases go raw. The rank kept
 * is the smallest covering a fraction T(t) of the delta's energy (sum of
 * squared singular values), T(t) = T_start + min(1, t / energyRounds) (T_end -
 * T_start) as in the authors' code (0.95 -> 0.98), but at most K. The payload
 * schema must be fixed per run (the coordinator checks names, shapes and
 * bytes), so K is fixed: min(maxRank, m, n), and the columns past the kept
 * rank are zeros. The bytes counted are those of this fixed
 * payload, i.e. what is actually sent; docs/baselines.md also reports the
 * ranks actually kept.
 * Server step: reconstruct each delta (U diag(S) V^T), sample-weighted mean
 * in float64 one client at a time (streaming), add to the global mentee. The
 * download is the full mentee, uncompressed: with sampling a client may have
 * skipped rounds and could not apply a chain of compressed deltas.
 * Evaluation: the private model (the mentor).
 * Client half: client.ts; server half (no tfjs): server.ts; the update
 * format both use: codec.ts; the SVD: @pfedlora/core's linalg.ts.
 */
import type { Algorithm } from '../algorithm';
import { createFedKdClient } from './client';
import { fedkdOptions, type FedKdOptions } from './codec';
import { createFedKdServer } from './server';

export * from './codec';
export { createFedKdServer, fedkdServer } from './server';
export { fedkdFlopsPerSample, type FedKdClient } from './client';

/** FedKD with explicit hyper-parameters (the registry uses FEDKD_DEFAULTS). */
export function createFedKd(overrides: Partial<FedKdOptions> = {}): Algorithm {
  const options = fedkdOptions(overrides);
  return {
    ...createFedKdServer(options),
    createClient: (setup) => createFedKdClient(setup, options),
    wholeBatchStep: "fedkd's distillation weight is a function of the whole batch's mean losses",
  };
}

export const fedkd: Algorithm = createFedKd();
