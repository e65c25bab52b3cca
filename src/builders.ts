/**
 * Builders, by their old module name: the same exports as before the split, re-exported from
 * build.ts (spec, builders, specOf), embedding.ts (LabEmbedding, checkTokens), param-count.ts
 * (countParams), torch-io.ts (PyTorch state dicts) and decode.ts (decode, decodeSequences, generate).
 */
export { MODEL_SPEC_KEYS, specOf, buildRNN, buildLSTM, buildGRU, recurrentLayers } from './build';
export { buildModel } from './build';
export type { Topology, ModelSpec, StoredSpec } from './build';
export { LabEmbedding, checkTokens } from './embedding';
export { countParams } from './param-count';
export { torchWeights, loadTorchWeights, torchWeightsShapes } from './torch-io';
export { decode, decodeSequences, generate } from './decode';
export type { DecodeOptions, DecodeSequencesOptions, DecodedSequences, BeamDecodeOptions } from './decode';
export { beamSearch } from './beam';
export type { BeamSearchOptions, BeamSearchResult } from './beam';
