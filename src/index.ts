/**
 * rnn-lab: recurrent neural networks in the lecture's notation, on tf.js.
 *
 * Notebooks import everything from here: `import { initBackend, show, table } from 'rnn-lab'`.
 */
export { initBackend, backendInfo } from './backend';
export type { BackendName, BackendInfo, InitBackendOptions } from './backend';
export { show, liveFigure, table, loadPlotly, figureHtml, figureSummary, figureBundle, tableHtml, plotlyScript, PLOTLY_BUNDLE, PLOTLY_OUTPUT_METADATA, PLOTLY_TRACE_TYPES, setDisplaySink, inNotebook, displayStats } from './display';
export type { Figure, Trace, LiveFigure, TableOptions, DisplaySink, DisplayHandle, FigureBundle } from './display';
export { expectClaim, ClaimError, CLAIMS_ENV } from './claims';
export { rnnLayer, lstmLayer, gruLayer, RecurrentLayer, LabRNN, LabLSTM, LabGRU, FAMILIES } from './layers';
export type { RecurrentLayerOptions, SequenceResult, DirectionTrace, ForwardOptions } from './layers';
export type { CellKind, CellOptions, RnnActivation, GateActivation, GruUpdate, State, StepResult, StepWeights, CellFamily } from './family';
export type { BuiltinCellKind, BlockActivation, FusedCell } from './family';
export { registerCell, cellFamily, cellKinds } from './cells';
export { layerClass } from './layers';
export { buildModel } from './builders';
export { RNN_FAMILY, activate } from './rnn';
export { LSTM_FAMILY } from './lstm';
export { GRU_FAMILY } from './gru';
export { lectureNames, getLectureWeights, setLectureWeights, toKerasWeights, fromKerasWeights } from './weights';
export type { NumArray } from './weights';
export { fromKerasLayer, importLayersModel } from './keras';
export type { FromKerasOptions } from './keras';
export { buildRNN, buildLSTM, buildGRU, specOf, recurrentLayers, countParams, torchWeights, loadTorchWeights, torchWeightsShapes, decode, generate, checkTokens, LabEmbedding } from './builders';
export type { DecodeOptions } from './builders';
export { saveModel, loadModel } from './io';
export type { SaveModelOptions } from './io';
export { writeFileAtomic } from './files';
export type { ModelSpec, StoredSpec, Topology } from './builders';
export { MODEL_SPEC_KEYS } from './builders';
export { RECURRENT_LAYER_KEYS } from './layers';
export { guardModel, inputSpecsOf, checkModelInputs } from './guard';
export { Rng, tfSeed } from './random';
export { CharVocab, nextCharPairs, softmax, charCrossEntropy, perplexity, sampleText } from './text';
export type { CharStepper, SampleTextOptions } from './text';
export { showHtml } from './display';
export { forwardModel, modelStepper } from './forward';
export type { ForwardModelOptions, ForwardModelResult, StepperState } from './forward';
export { lossFunction } from './losses';
export type { LossSpec, LossFn } from './losses';
export { padSequences, bucketBatches } from './padding';
export type { PadSequencesOptions, PaddedBatch, BucketOptions } from './padding';
export { train, computeGradients, clipByGlobalNorm, clipByValue, globalNorm } from './train';
export { gradientStep } from './train';
export type { ClipOptions, GradientStepResult } from './train';
export type { TrainData, TrainOptions, TrainResult, StepLog, EpochLog, GradientOptions, RaggedSequences } from './train';
export { descendPaths, pathStats } from './descent';
export type { DescentOptions, DescentPaths, PathStats } from './descent';
export { KeyboardInterrupt, interruptible, kernelHub } from './interrupt';
export type { Interruptible, KernelHub, CellRef } from './interrupt';
export { spectrum, gradientFlow, jacobianNorms, gateStats, verdictOf, ACTIVATION_GAMMA } from './diagnostics';
export type { Spectrum, GradientFlow, GradientFlowOptions, LayerFlow, Verdict, JacobianNorms, GateStat } from './diagnostics';
export { gradientFlowFigure, trainingFigure, heatmapFigure, singularValuesFigure, textActivationHtml } from './plot';
export { singularValues, spectralRadius, sigmaMaxPower, symmetricEigenvalues, matmul, transpose, identity } from './linalg';
export type { Matrix } from './linalg';
export { addingProblem, delayedRecall, copyTask, sineWaves, tagByNext, reverseDigits, DIGIT_TOKENS, slidingWindows, standardizer, loadCO2, loadSeattleWeather, firstNames } from './data';
export { timeseriesWindows, dateGaps } from './data';
export type { Dataset, Standardizer } from './data';
export { ridgeRegression } from './baselines';
export type { RidgeOptions, RidgeModel } from './baselines';
export type { StandardizerOptions, StandardizerMissing, WindowMissing, WindowDataset, Dropped, SlidingWindowOptions, TimeseriesWindowOptions, TimeseriesWindows, SplitWindows, SplitSpec, Frequency, DateGap, DateGaps } from './data';
export { constantBaseline, autoregressiveBaseline } from './baselines';
export type { ConstantBaseline, AutoregressiveBaseline } from './baselines';
export { check, gradeExercise, EXERCISES } from './check';
export type { CheckOptions, CheckResult, ExerciseName, LstmWeights } from './check';
export { defineExercise, homeworkChecks } from './check';
export type { Exercise, ExerciseSpec, ExerciseCase, ExerciseHint, ExerciseRandom } from './check';
export { fusedSequence, fusedSupport, fusedInfo, fusedAvailable, setFusedThreads, FusedUnsupportedError } from './fused';
export type { FusedOptions, FusedResult } from './fused';
export { NO_TRAINING_ENV, trainingDisabled } from './no-training';

// RNN_LAB_NO_TRAINING=1 (tests of the lessons' claims): optimizers take no step in this process.
import { applyTrainingSwitch } from './no-training';
applyTrainingSwitch();
export { seedStats, formatSeedStats, learningRateSweep } from './sweep';
export type { SeedStats, SweepContender, SweepRun, LearningRateSweep, LearningRateSweepOptions } from './sweep';
