/**
 * FD, federated distillation (Jeong et al. 2018, "Communication-efficient
 * on-device machine learning: federated distillation and augmentation"), as
 * HtFLlib implements it for heterogeneous models (clientfd.py / serverfd.py):
 * clients exchange per-class mean logits instead of parameters.
 *
 * Client step: E epochs of SGD on the whole private model with
 *   loss = CE(z, y) + lambda * (1/B) sum_i [y_i known] * CE(softmax(g_{y_i}), z_i)
 * where g_c is the global mean logit vector of class c and "known" means some
 * client reported class c last round (soft-target cross-entropy: the same
 * gradient as KL(softmax(g) || softmax(z))). The logits of every training
 * forward pass (all E epochs, as HtFLlib collects them) are averaged per class
 * and uploaded with the client's per-class sample counts n_{k,c}.
 * Server step: per-class weighted mean, g_c = sum_k n_{k,c} z_{k,c} / sum_k n_{k,c}
 * (ClassMeanAccumulator; HtFLlib takes the unweighted mean over clients).
 * Evaluation: the private model's own head after local training.
 * Client half: client.ts; server half (no tfjs): server.ts.
 */
import type { Algorithm } from '../algorithm';
import { createFdClient, FD_DEFAULTS, type FdOptions } from './client';
import { fdServer } from './server';

export { fdServer, FD_PREFIX } from './server';
export { FD_DEFAULTS, type FdOptions } from './client';

/** FD with explicit hyper-parameters (the registry uses FD_DEFAULTS). */
export function createFd(overrides: Partial<FdOptions> = {}): Algorithm {
  const options: FdOptions = { ...FD_DEFAULTS, ...overrides };
  if (!(options.lambda >= 0)) throw new Error(`fd: lambda must be >= 0, got ${options.lambda}`);
  return { ...fdServer, createClient: (setup) => createFdClient(setup, options) };
}

export const fd: Algorithm = createFd();
