/**
 * The client's private model: a built-in one, a TensorFlow.js Layers
 * model.json on disk, or a network a program builds (ModelSource). Built for
 * the run's contract once the client has read it (Describe), and refused
 * there, before joining, when d or C differ.
 */
import { loadModelFile, type ModelSource } from '@pfedlora/ml';

export type ClientModelSource =
  | ModelSource
  /** A model.json with its weight files; `representationLayer` names the layer whose output is h. */
  | { readonly kind: 'layers-file'; readonly file: string; readonly representationLayer?: string };

/** Reads a model file into a ModelSource (model sources already in memory pass through). */
export async function resolveModelSource(source: ClientModelSource): Promise<ModelSource> {
  return source.kind === 'layers-file' ? loadModelFile(source.file, source.representationLayer === undefined ? {} : { representationLayer: source.representationLayer }) : source;
}

export function clientModelLabel(source: ClientModelSource): string {
  switch (source.kind) {
    case 'zoo':
      return source.model;
    case 'layers-file':
      return source.file;
    default:
      return source.name;
  }
}
