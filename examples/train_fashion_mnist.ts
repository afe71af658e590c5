// Training AlexNet from a Node script with the library's public API: a data set, a training and a
// test loader (the paper's preprocessing: the training set's mean image subtracted), the network,
// and the Trainer with the paper's SGD. The quick preset's sizes suit a CPU; on a GPU pass
// --preset fashion-mnist for the full network at 224x224.
//
//   node dist/examples/train_fashion_mnist.js [--preset NAME] [--epochs N] [--limit N] [--device D] [--out DIR]
import { parseArgs } from 'node:util';

import { alexnet, createLoader, defaultDevice, fashionMnist, presets, Trainer, type PresetName, deviceName } from '../lib/index.js';

const { values } = parseArgs({
  options: {
    preset: { type: 'string', default: 'fashion-mnist-quick' },
    epochs: { type: 'string', default: '2' },
    limit: { type: 'string' },
    device: { type: 'string' },
    out: { type: 'string', default: 'runs/example' },
  },
});
const preset = presets[values.preset as PresetName];
if (!preset || preset.dataset !== 'fashion-mnist') throw new RangeError(`--preset must be fashion-mnist or fashion-mnist-quick, got ${values.preset}`);
const device = values.device === undefined ? defaultDevice() : deviceName(values.device, '--device');
const { data, model: modelOptions, training } = preset;

let trainSet = await fashionMnist({ split: 'train' });
if (values.limit) trainSet = trainSet.subset(Array.from({ length: Math.min(Number(values.limit), trainSet.size) }, (_, i) => i));
const testSet = await fashionMnist({ split: 'test' });

// The GPU crops and normalises there; a CPU leaves it to the loader's threads.
const augmentOn = device.startsWith('cuda') ? 'device' : 'host';
const common = { batchSize: training.batchSize, size: data.size, crop: data.crop, pixelScale: data.pixelScale, augmentOn } as const;
const train = await createLoader(trainSet, { ...common, train: true, mean: data.mean, flip: data.flip, pca: false, seed: 1 });
const test = await createLoader(testSet, { ...common, train: false, mean: data.mean, stats: train.datasetStats ?? undefined });

const model = alexnet({ ...modelOptions, device, seed: 1 });
const trainer = new Trainer({
  model, train, val: test, epochs: Number(values.epochs), lr: training.lr, momentum: training.momentum,
  weightDecay: training.weightDecay, schedule: training.schedule, seed: 1, outDir: values.out,
});
const result = await trainer.fit();
const last = result.epochs.at(-1)?.val;
if (last) console.log(`test accuracy ${(100 * (1 - last.top1Error)).toFixed(2)}% after ${result.epochs.length} epochs on ${device}`);

model.dispose();
trainer.optimizer.dispose();
await Promise.all([train.close(), test.close()]);
