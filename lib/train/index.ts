export { Trainer, TRAINING_PRECISIONS, type TrainingPrecision, type TrainerOptions, type FitResult, type EpochRecord } from './trainer.js';
export { evaluate, averageProbabilities, type EvalResult, type EvaluateOptions } from './evaluate.js';
export { ArrayLoader, type ArrayLoaderOptions } from './array_loader.js';
export { MetricsLog, readMetrics, type MetricsRecord } from './metrics.js';
export { Progress, RecentRate, formatDuration, type ProgressInfo, type ProgressMode } from './progress.js';
export { epochPermutation } from './shuffle.js';
export { loadModel, loadModels, checkCheckpointModel, type LoadModelOptions } from './load_model.js';
export { prepareRunDirectory } from './run_dir.js';
export { predict, type Prediction } from './predict.js';
