/**
 * Where a client's private network comes from. A source is plain data (it
 * crosses into simulation worker threads), except `program`, which a program
 * that embeds the client builds itself and which stays in its process.
 */
import { deriveSeed } from '@pfedlora/core';
import type { FederationSetup } from './algorithms/algorithm';
import type { PrivateNetwork } from './network';
import { modelSpec, parseModelKind, zooNetwork, type InputShape, type ModelKind } from './zoo';
import { buildLayersNetwork, readLayersArtifacts, type LayersArtifacts } from './layers-model';

export type ModelSource =
  /**
   * A built-in model (CNN-1..5, MLP-1..3, TFM-1..4), built for the run's d and C and for
   * `input` when given (a transformer's local sequence length, --max-tokens), else the run's input.
   */
  | { readonly kind: 'zoo'; readonly model: ModelKind; readonly input?: InputShape }
  /** A TensorFlow.js Layers model read from a model.json and its weight files (plain data: it crosses into workers). */
  | { readonly kind: 'layers'; readonly name: string; readonly artifacts: LayersArtifacts; readonly representationLayer?: string }
  /** A user's network, built by their code for the run (see @pfedlora/client's runClient). */
  | { readonly kind: 'program'; readonly name: string; readonly create: (federation: FederationSetup, seed: number) => PrivateNetwork };

/** Reads a model.json and its weight files (errors name the file); the network is built later, for the run. */
export async function loadModelFile(file: string, options: { readonly representationLayer?: string } = {}): Promise<ModelSource> {
  const artifacts = await readLayersArtifacts(file);
  return { kind: 'layers', name: artifacts.name, artifacts, ...(options.representationLayer === undefined ? {} : { representationLayer: options.representationLayer }) };
}

/** A model choice as flags and configs write it: a zoo name, or a path ending in .json. */
export type ModelChoice = { readonly kind: 'zoo'; readonly model: ModelKind } | { readonly kind: 'file'; readonly file: string };

export function parseModelChoice(text: string): ModelChoice {
  return text.trim().toLowerCase().endsWith('.json') ? { kind: 'file', file: text.trim() } : { kind: 'zoo', model: parseModelKind(text) };
}

export const zooSource = (model: ModelKind | string, input?: InputShape): ModelSource => ({ kind: 'zoo', model: parseModelKind(model), ...(input === undefined ? {} : { input }) });

/** A short label for logs and reports: 'cnn3', 'mlp2', the model file's name. */
export function modelSourceLabel(source: ModelSource): string {
  return source.kind === 'zoo' ? source.model : source.name;
}

/** The seed a client's private network is built with, from the client's seed (ClientSetup.seed). */
export function privateNetworkSeed(clientSeed: number): number {
  return deriveSeed(clientSeed, 'model');
}

/**
 * Builds the client's network and checks it against the run's adapter
 * contract (d and C), naming both values when they differ.
 */
export function createNetwork(source: ModelSource, federation: FederationSetup, seed: number): PrivateNetwork {
  const network =
    source.kind === 'zoo'
      ? zooNetwork(modelSpec(source.model, source.input ?? federation.input, federation.numClasses, federation.representationDim), seed)
      : source.kind === 'layers'
        ? buildLayersNetwork(source.artifacts, {
            ...(source.representationLayer === undefined ? {} : { representationLayer: source.representationLayer }),
            expectedRepresentationDim: federation.representationDim,
            expectedNumClasses: federation.numClasses,
            seed,
          })
        : source.create(federation, seed);
  try {
    assertMeetsContract(network.descriptor, federation);
  } catch (error) {
    network.dispose();
    throw error;
  }
  return network;
}

/** Throws unless a model's representation width and class count are the run's. */
export function assertMeetsContract(
  model: { readonly name: string; readonly representationDim: number; readonly numClasses: number },
  contract: { readonly representationDim: number; readonly numClasses: number },
): void {
  const problems: string[] = [];
  if (model.representationDim !== contract.representationDim) problems.push(`representation width d = ${model.representationDim}, the run requires d = ${contract.representationDim}`);
  if (model.numClasses !== contract.numClasses) problems.push(`${model.numClasses} classes, the run requires C = ${contract.numClasses}`);
  if (problems.length) throw new ContractError(`model ${model.name} does not meet the adapter contract: ${problems.join('; ')}`);
}

/** A model that does not meet the run's adapter contract. */
export class ContractError extends Error {
  override readonly name = 'ContractError';
}
