/**
 * FedProto (Tan et al., AAAI 2022, "FedProto: Federated prototype learning
 * across heterogeneous clients"), as the paper and HtFLlib (clientproto.py /
 * serverproto.py) run it: clients exchange per-class mean representations
 * (prototypes) at the 500-d layer every zoo model has, never parameters.
 *
 * Client step: E epochs of SGD on the whole private model with
 *   loss = CE(z, y) + lambda * (1/(B*500)) sum_i [y_i known] ||h_i - p_{y_i}||^2
 * (torch's nn.MSELoss, a mean over batch and dimensions, as both codes use),
 * where p_c is the global prototype of class c and "known" means some client
 * reported class c last round. The representations of every training forward
 * pass (all E epochs) are averaged per class and uploaded with the client's
 * per-class sample counts.
 * Server step: per-class weighted mean p_c = sum_k n_{k,c} h_{k,c} / sum_k n_{k,c}
 * (the paper's weighting; HtFLlib takes the unweighted mean over clients).
 * Evaluation ('prototype', the default, as the paper and HtFLlib infer):
 * predict the known class whose global prototype (the one received this round)
 * is nearest to h; before any prototype is known, the model's own head.
 * 'head' evaluates the model's own head instead: registered as the variant
 * `fedproto-head`, because with few local steps per client the representations
 * of five architectures never settle near prototypes averaged across them and
 * nearest-prototype inference falls below chance (docs/results.md).
 * Client half: client.ts; server half (no tfjs): server.ts.
 */
import type { Algorithm } from '../algorithm';
import { createFedProtoClient, FEDPROTO_DEFAULTS, type FedProtoOptions } from './client';
import { createFedProtoServer } from './server';

export { createFedProtoServer, fedprotoServer, fedprotoHeadServer, FEDPROTO_PREFIX } from './server';
export { FEDPROTO_DEFAULTS, type FedProtoOptions } from './client';

/** FedProto with explicit hyper-parameters (the registry uses FEDPROTO_DEFAULTS). */
export function createFedProto(overrides: Partial<FedProtoOptions> = {}): Algorithm {
  const options: FedProtoOptions = { ...FEDPROTO_DEFAULTS, ...overrides };
  if (!(options.lambda >= 0)) throw new Error(`fedproto: lambda must be >= 0, got ${options.lambda}`);
  return { ...createFedProtoServer(options.evaluation === 'head'), createClient: (setup) => createFedProtoClient(setup, options) };
}

export const fedproto: Algorithm = createFedProto();
/** FedProto evaluated with each model's own head instead of the nearest global prototype. */
export const fedprotoHead: Algorithm = createFedProto({ evaluation: 'head' });
