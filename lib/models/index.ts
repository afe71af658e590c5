export { alexnet, hybridAlexNet, AlexNet, alexnetParameterShapes, resolveAlexNetOptions, type AlexNetOptions, type AlexNetConfig } from './alexnet.js';
export { alexnetSpec, type AlexNetSpec, type LayerSpec, type ColumnSplit } from './alexnet_spec.js';
export { initialize, type InitScheme } from './init.js';
export { presets, preset, type Preset, type PresetName, type TrainingConfig, type DataConfig } from './presets.js';
export { TwoColumnAlexNet, hybridTwoColumnAlexNet, groupedLayout, columnLayout, type TwoColumnOptions } from './two_column.js';
