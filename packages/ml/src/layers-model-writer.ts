/**
 * Writes a TensorFlow.js Layers model as model.json + weights.bin, the files
 * `tf.LayersModel.save('file://...')` (tfjs-node) and tensorflowjs_converter
 * write, from the artifacts a save handler receives. This package does not
 * depend on tfjs-layers: tests and scripts that build a model with it pass
 * `layersModelSaveHandler(dir)` (or tf.io.withSaveHandler) to `model.save`.
 */
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';

export const MODEL_JSON_FILE = 'model.json';
export const WEIGHTS_FILE = 'weights.bin';

/** Writes `dir`/model.json and `dir`/weights.bin (one shard); returns the model.json path. */
export async function writeLayersModelArtifacts(artifacts: tf.io.ModelArtifacts, dir: string): Promise<string> {
  const topology = artifacts.modelTopology;
  if (topology == null || topology instanceof ArrayBuffer) {
    throw new Error('writeLayersModelArtifacts: the artifacts have no JSON modelTopology (a Layers model saves one)');
  }
  const weightData = artifacts.weightData == null ? new ArrayBuffer(0) : tf.io.CompositeArrayBuffer.join(artifacts.weightData);
  const modelJson: Record<string, unknown> = {
    format: artifacts.format ?? 'layers-model',
    generatedBy: artifacts.generatedBy ?? `TensorFlow.js tfjs-core v${tf.version_core}`,
    convertedBy: artifacts.convertedBy ?? null,
    modelTopology: topology,
    weightsManifest: [{ paths: [WEIGHTS_FILE], weights: artifacts.weightSpecs ?? [] }],
  };
  if (artifacts.trainingConfig != null) modelJson.trainingConfig = artifacts.trainingConfig;
  if (artifacts.userDefinedMetadata != null) modelJson.userDefinedMetadata = artifacts.userDefinedMetadata;
  await fs.mkdir(dir, { recursive: true });
  const modelJsonPath = path.join(dir, MODEL_JSON_FILE);
  await fs.writeFile(path.join(dir, WEIGHTS_FILE), new Uint8Array(weightData));
  await fs.writeFile(modelJsonPath, JSON.stringify(modelJson));
  return modelJsonPath;
}

/** A save handler for `tfLayersModel.save(layersModelSaveHandler(dir))`. */
export function layersModelSaveHandler(dir: string): tf.io.IOHandler {
  return {
    save: async (artifacts: tf.io.ModelArtifacts): Promise<tf.io.SaveResult> => {
      await writeLayersModelArtifacts(artifacts, dir);
      return {
        modelArtifactsInfo: {
          dateSaved: new Date(),
          modelTopologyType: 'JSON',
          modelTopologyBytes: JSON.stringify(artifacts.modelTopology).length,
          weightDataBytes: artifacts.weightData == null ? 0 : tf.io.CompositeArrayBuffer.join(artifacts.weightData).byteLength,
        },
      };
    },
  };
}
