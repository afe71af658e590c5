// The paper's measurable claims, each an experiment `alexnet experiment <name>` runs.
export { reluVsTanh, type ReluVsTanhOptions, type ReluVsTanhResult, type ActivationResult, type RunRecord } from './relu_vs_tanh.js';
export { renderReluVsTanh } from './relu_vs_tanh_figure.js';
export { smallCnn, describeSmallCnn, ACTIVATIONS, type Activation } from './small_cnn.js';
export { trainingCurve, iterationsToReach, type Curve, type CurveOptions, type ImageSet } from './training_curve.js';
export { loadImageSet } from './image_set.js';
export { summarise, type Summary } from './stats.js';
export {
  ABLATIONS, runAblation, type AblationDefinition, type AblationName, type AblationOptions, type AblationResult, type AblationRow,
  type AblationRun, type AblationVariant, type AblationData, type Evaluation,
} from './ablation.js';
export { renderAblation } from './ablation_figure.js';

/** The experiments by name, with what each one measures. */
export const EXPERIMENTS = {
  'relu-vs-tanh': "Figure 1: iterations a 4-layer CNN needs to reach a training-error threshold with ReLU vs tanh, each at its best learning rate",
  'two-columns': '§3.2: the two-column network against one column with half of the kernels in conv1-conv4',
  lrn: '§3.3: local response normalisation on and off',
  'overlapping-pool': '§3.4: max pooling 3/2 (overlapping) against 2/2: error and overfitting',
  'pca-colour': '§4.1: PCA colour augmentation on and off',
  dropout: '§4.2: dropout on and off: overfitting (test - train error) and iterations to converge',
  'ten-crop': '§4.1: test error of the ten-crop average against the centre crop, same networks',
} as const;
export type ExperimentName = keyof typeof EXPERIMENTS;
