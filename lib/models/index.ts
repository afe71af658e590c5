export { alexnet, AlexNet, resolveAlexNetOptions, type AlexNetOptions, type AlexNetConfig } from './alexnet.js';
export { initialize, type InitScheme } from './init.js';
export { presets, preset, type Preset, type PresetName, type TrainingConfig, type DataConfig } from './presets.js';
