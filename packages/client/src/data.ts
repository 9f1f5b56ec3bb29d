/** The client's private data: a whole dataset, or its shard of a seeded partition. */
import { capSamples, loadDataset, partitionClients, subsetOf, DEFAULT_SIMULATION, type Dataset } from '@pfedlora/ml';
import type { ClientDaemonConfig } from './config';

export interface ClientData {
  readonly train: Dataset;
  readonly test: Dataset;
  readonly source: string;
  readonly classes: number[];
}

export async function loadClientData(config: ClientDaemonConfig): Promise<ClientData> {
  const data = await loadDataset(config.dataset, config.dataDir === undefined ? {} : { dataDir: config.dataDir });
  if (!config.shard) {
    const all = Int32Array.from({ length: data.train.count }, (_, i) => i);
    const classes = [...new Set(data.train.labels)].sort((a, b) => a - b);
    return { train: subsetOf(data.train, capSamples(all, config.maxTrainSamples)), test: data.test, source: data.source, classes };
  }
  const { index, count, partition, classesPerClient, dirichletAlpha, seed } = config.shard;
  if (!(Number.isInteger(index) && index >= 0 && index < count)) throw new Error(`shard index ${index} is outside [0, ${count})`);
  // The same partition the simulation computes for this seed, so both paths see the same clients.
  const parts = partitionClients(data, { ...DEFAULT_SIMULATION, partition, classesPerClient, dirichletAlpha, clients: count, seed });
  const part = parts[index]!;
  return {
    train: subsetOf(data.train, capSamples(part.train, config.maxTrainSamples)),
    test: subsetOf(data.test, part.test),
    source: `${data.source} shard ${index}/${count} (${partition})`,
    classes: part.classes,
  };
}
