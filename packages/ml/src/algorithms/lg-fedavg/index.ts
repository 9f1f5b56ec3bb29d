/**
 * LG-FedAvg (Liang et al. 2020, "Think locally, act globally"), model-
 * heterogeneous form as in HtFLlib (clientlg.py / serverlg.py): the clients
 * share only the classifier head, which has the same shape on every zoo model
 * (fc3: 500 -> C), and keep their heterogeneous extractors local.
 *
 * Client step (client.ts): overwrite fc3 with the global head (its momentum
 * restarts at zero), train the whole private model E epochs with
 * cross-entropy, upload the trained head. Server step (server.ts, no tfjs):
 * sample-weighted mean of the uploaded heads (streaming,
 * WeightedMeanAccumulator). Evaluation: the private model as it stands after
 * local training (its own extractor + its locally trained head).
 */
import type { Algorithm } from '../algorithm';
import { createLgFedAvgClient } from './client';
import { lgFedAvgServer } from './server';

export { lgFedAvgServer } from './server';

export const lgFedAvg: Algorithm = { ...lgFedAvgServer, createClient: createLgFedAvgClient };
