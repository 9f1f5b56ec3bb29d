/**
 * FedGH (Yi et al., ACM MM 2023, "FedGH: Heterogeneous federated learning
 * with generalized global header"), as HtFLlib runs it (clientgh.py /
 * servergh.py): clients upload per-class prototypes; the server trains one
 * generalized head (500 -> C linear) on them and sends it back.
 *
 * Client step: replace the private head (fc3) with the global head (its
 * momentum restarts at zero), train the whole private model E epochs with
 * cross-entropy, then one extra forward pass over the train split to compute
 * per-class mean representations (prototypes) with the trained extractor;
 * upload them with the per-class sample counts.
 * Server step: every (client, class) prototype with a nonzero count is one
 * training pair (h, c), unweighted as in HtFLlib; starting from the previous
 * global head, `serverEpochs` epochs of plain SGD (no momentum or decay) with
 * softmax cross-entropy over mini-batches of `serverBatchSize` pairs. This
 * server step BUFFERS: it keeps every pair of the round (C x 500 floats per
 * client at most) until result(), because the head is trained on all of them.
 * It runs in float64 JavaScript, not tfjs: the coordinator has no training
 * engine, and the result must not depend on the backend. Pairs are sorted
 * canonically and shuffled with a fixed seed, so the new head does not depend
 * on the order in which uploads arrived.
 * Evaluation: the private model after local training (its extractor and its
 * locally fine-tuned copy of the global head).
 * Client half: client.ts; server half (no tfjs): server.ts.
 */
import type { Algorithm } from '../algorithm';
import { createFedGhClient } from './client';
import { createFedGhServer, type FedGhOptions } from './server';

export { createFedGhServer, fedghServer, trainGeneralizedHead, FEDGH_DEFAULTS, FEDGH_PREFIX, type FedGhOptions, type PrototypePair } from './server';

/** FedGH with explicit server hyper-parameters (the registry uses FEDGH_DEFAULTS). */
export function createFedGh(overrides: Partial<FedGhOptions> = {}): Algorithm {
  return { ...createFedGhServer(overrides), createClient: createFedGhClient };
}

export const fedgh: Algorithm = createFedGh();
