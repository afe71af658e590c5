// The paper's measurable claims, each an experiment `alexnet experiment <name>` runs.
export { reluVsTanh, type ReluVsTanhOptions, type ReluVsTanhResult, type ActivationResult, type RunRecord } from './relu_vs_tanh.js';
export { renderReluVsTanh } from './relu_vs_tanh_figure.js';
export { smallCnn, describeSmallCnn, ACTIVATIONS, type Activation } from './small_cnn.js';
export { trainingCurve, iterationsToReach, type Curve, type CurveOptions, type ImageSet } from './training_curve.js';
export { loadImageSet } from './image_set.js';
export { summarise, type Summary } from './stats.js';

/** The experiments by name, with what each one measures. */
export const EXPERIMENTS = {
  'relu-vs-tanh': "Figure 1: iterations a 4-layer CNN needs to reach a training-error threshold with ReLU vs tanh, each at its best learning rate",
} as const;
export type ExperimentName = keyof typeof EXPERIMENTS;
