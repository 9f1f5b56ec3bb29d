/**
 * FML, federated mutual learning (Shen et al. 2020, "Federated mutual
 * learning"), as HtFLlib runs it for heterogeneous models (clientfml.py /
 * serverfml.py): every client trains its private CNN together with a copy of
 * one small shared "meme" model by deep mutual learning, and only the meme
 * model is federated.
 *
 * The meme model is the smallest zoo model for the run's input kind (CNN-5,
 * MLP-1 or TFM-1: common/server.ts's sharedModelKind), on every client (HtFLlib
 * uses one fixed architecture for it too), so its parameters have the same
 * names and shapes everywhere: `meme/<layer>/kernel|bias`.
 *
 * Client step: load the global meme model (its momentum restarts at zero),
 * then E epochs where each batch trains both models at once:
 *   private: alpha * CE(z_p, y) + (1 - alpha) * KL(softmax(z_m) || softmax(z_p))
 *   meme:    beta  * CE(z_m, y) + (1 - beta)  * KL(softmax(z_p) || softmax(z_m))
 * each distilling toward the other's detached prediction (KL with batchmean,
 * the true KL; HtFLlib's nn.KLDivLoss() default also divides by C). Upload the
 * trained meme parameters. Server step: sample-weighted mean of the meme models
 * (streaming). Evaluation: the private model.
 * Client half: client.ts; server half (no tfjs): server.ts.
 */
import type { Algorithm } from '../algorithm';
import { createFmlClient, FML_DEFAULTS, type FmlOptions } from './client';
import { fmlServer } from './server';

export { fmlServer, FML_PREFIX } from './server';
export { FML_DEFAULTS, type FmlOptions } from './client';

/** FML with explicit hyper-parameters (the registry uses FML_DEFAULTS). */
export function createFml(overrides: Partial<FmlOptions> = {}): Algorithm {
  const options: FmlOptions = { ...FML_DEFAULTS, ...overrides };
  for (const key of ['alpha', 'beta'] as const) {
    if (!(options[key] >= 0 && options[key] <= 1)) throw new Error(`fml: ${key} must be in [0, 1], got ${options[key]}`);
  }
  return { ...fmlServer, createClient: (setup) => createFmlClient(setup, options) };
}

export const fml: Algorithm = createFml();
