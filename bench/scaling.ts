// Projects images/s and scaling efficiency of a preset's AlexNet (default the paper's) trained on
// 1–64 GPUs, pure data parallel against the hybrid of Krizhevsky (2014), over NVLink within a node
// and 100 / 400 Gb/s networks between nodes. A projection from stated assumptions (bench/scaling_model.ts),
// not a measurement; every assumption is printed and has a flag.
//   node dist/bench/scaling.js [--preset paper] [--batch 128] [--global-batch 128] [--precision tf32]
//        [--times FILE.json (measured per-layer times, from quick_preset_layers.js --json)] [--markdown FILE]
//   npm run bench:scaling
import { readFileSync, writeFileSync } from 'node:fs';
import { alexnetSpec, preset, resolveAlexNetOptions } from '../lib/models/index.js';
import {
  hybridByteCrossover, layerProfiles, measuredTimer, project, rooflineTimer,
  type Fabric, type LayerProfile, type MeasuredTimes, type ProjectionRow, type Timer,
} from './scaling_model.js';
import { benchArgs } from './args.js';

/** NVIDIA's H200 SXM datasheet, dense (its tensor-core figures "with sparsity" halved), in TFLOP/s. */
const H200_PEAK_TFLOPS = { fp32: 67, tf32: 495, bf16: 989 } as const;
type Precision = keyof typeof H200_PEAK_TFLOPS;


/** A flag's number, or a RangeError naming the flag. */
function num(flag: string, text: string | undefined, min: number, max = Infinity, integer = false): number {
  const v = Number(text);
  if (text === undefined || text.trim() === '' || !Number.isFinite(v) || v < min || v > max || (integer && !Number.isInteger(v)))
    throw new RangeError(`--${flag} must be ${integer ? 'an integer' : 'a number'} in [${min}, ${max}], got ${JSON.stringify(text)}`);
  return v;
}
const list = (flag: string, text: string, min: number, integer: boolean): number[] =>
  text.split(',').map((t) => num(flag, t, min, Infinity, integer));

function main(): void {
  const { values } = benchArgs(import.meta.url, {
    preset: { type: 'string', default: 'paper' },
    batch: { type: 'string', default: '128' },
    'global-batch': { type: 'string', default: '128' },
    gpus: { type: 'string', default: '1,2,4,8,16,32,64' },
    'gpus-per-node': { type: 'string', default: '8' },
    precision: { type: 'string', default: 'tf32' },
    'peak-tflops': { type: 'string' },
    'compute-efficiency': { type: 'string', default: '0.4' },
    'memory-gbps': { type: 'string', default: '4800' },
    'memory-efficiency': { type: 'string', default: '0.7' },
    'nvlink-gbps': { type: 'string', default: '450' },
    'nvlink-latency-us': { type: 'string', default: '3' },
    'network-gbit': { type: 'string', default: '100,400' },
    'nics-per-node': { type: 'string' },
    'network-latency-us': { type: 'string', default: '10' },
    'link-efficiency': { type: 'string', default: '0.8' },
    'bucket-mib': { type: 'string', default: '25' },
    'bytes-per-value': { type: 'string' },
    times: { type: 'string' },
    markdown: { type: 'string' },
  });
  const presetName = values.preset!;
  const net = preset(presetName); // a RangeError naming the known presets
  const layers = layerProfiles(alexnetSpec(resolveAlexNetOptions(net.model)));
  const batch = num('batch', values.batch, 1, Infinity, true);
  const globalBatch = num('global-batch', values['global-batch'], 1, Infinity, true);
  const gpuCounts = list('gpus', values.gpus!, 1, true);
  const gpusPerNode = num('gpus-per-node', values['gpus-per-node'], 1, Infinity, true);
  const precision = values.precision as Precision;
  if (!Object.hasOwn(H200_PEAK_TFLOPS, precision))
    throw new RangeError(`--precision must be one of ${Object.keys(H200_PEAK_TFLOPS).join(', ')}, got ${JSON.stringify(values.precision)}`);
  const peakTflops = values['peak-tflops'] === undefined ? H200_PEAK_TFLOPS[precision] : num('peak-tflops', values['peak-tflops'], 1e-6);
  const computeEff = num('compute-efficiency', values['compute-efficiency'], 1e-6, 1);
  const memoryGbps = num('memory-gbps', values['memory-gbps'], 1e-6);
  const memoryEff = num('memory-efficiency', values['memory-efficiency'], 1e-6, 1);
  const nvlinkGbps = num('nvlink-gbps', values['nvlink-gbps'], 1e-6);
  const nvlinkLatency = num('nvlink-latency-us', values['nvlink-latency-us'], 0) * 1e-6;
  const networkGbit = list('network-gbit', values['network-gbit']!, 1e-6, false);
  const nicsPerNode = values['nics-per-node'] === undefined ? gpusPerNode : num('nics-per-node', values['nics-per-node'], 1, Infinity, true);
  const networkLatency = num('network-latency-us', values['network-latency-us'], 0) * 1e-6;
  const linkEff = num('link-efficiency', values['link-efficiency'], 1e-6, 1);
  const bucketMiB = num('bucket-mib', values['bucket-mib'], 0);
  const bytesPerValue = values['bytes-per-value'] === undefined ? (precision === 'bf16' ? 2 : 4) : num('bytes-per-value', values['bytes-per-value'], 1, 8, true);

  let timer: Timer;
  let computeSource: string;
  if (values.times !== undefined) {
    const file = values.times;
    let measured: MeasuredTimes & { preset?: string; device?: string; steps?: number };
    try {
      measured = JSON.parse(readFileSync(file, 'utf8'));
    } catch (e) {
      throw new RangeError(`--times ${file}: cannot read it as JSON (${(e as Error).message})`);
    }
    if (typeof measured === 'object' && measured !== null && measured.preset !== undefined && measured.preset !== presetName)
      throw new RangeError(`--times ${file} holds times of preset '${measured.preset}', not '${presetName}' (--preset)`);
    timer = measuredTimer(measured, layers, `--times ${file}`);
    computeSource = `per-layer times measured on ${measured.device ?? 'an unnamed device'} at batch ${measured.batch} ` +
      `(${file}${measured.steps ? `, mean of ${measured.steps} steps` : ''}), scaled in proportion to the images (and output features) a GPU computes; ` +
      (measured.updateMs === undefined ? 'the SGD update is not in the file and counts as free' : `SGD update ${measured.updateMs} ms`) +
      `; every "GPU" below computes as fast as that ${measured.device ?? 'device'}`;
  } else {
    const flops = peakTflops * 1e12 * computeEff;
    timer = rooflineTimer({ flops, memoryBandwidth: memoryGbps * 1e9 * memoryEff, bytesPerValue });
    computeSource = `an H200 SXM in ${precision.toUpperCase()}: ${peakTflops} TFLOP/s peak${values['peak-tflops'] === undefined ? ' (dense, datasheet)' : ''} × ` +
      `${computeEff} efficiency = ${(flops / 1e12).toFixed(0)} TFLOP/s sustained, for every layer and batch size; memory ${memoryGbps} GB/s × ${memoryEff}. ` +
      'Each layer takes the longer of its FLOPs and its memory traffic (a roofline); backward costs twice the forward FLOPs ' +
      '(conv1 once: no input gradient); the SGD update reads and writes 5 values per parameter';
  }

  const fabrics: [string, Fabric][] = networkGbit.map((gbit) => [`${gbit} Gb/s`, {
    gpusPerNode,
    nvlink: { bandwidth: nvlinkGbps * 1e9 * linkEff, latency: nvlinkLatency },
    network: { bandwidth: ((gbit / 8) * 1e9 * nicsPerNode / gpusPerNode) * linkEff, latency: networkLatency },
  }]);
  const common = { timer, bucketBytes: bucketMiB * 2 ** 20, bytesPerValue, gpuCounts };
  const weak = fabrics.map(([name, fabric]) => [name, project(layers, { ...common, fabric, batchPerGpu: batch })] as const);
  const strong = fabrics.map(([name, fabric]) => [name, project(layers, { ...common, fabric, globalBatch })] as const);

  const total = layers.reduce((s, l) => s + l.params, 0);
  const fcParams = layers.filter((l) => l.modelParallel).reduce((s, l) => s + l.params, 0);
  const flops = (ls: LayerProfile[]): number => ls.reduce((s, l) => s + l.fwdFlops + l.bwdFlops, 0);
  const fcFlopShare = flops(layers.filter((l) => l.modelParallel)) / flops(layers);
  const crossover = hybridByteCrossover(layers, batch);
  const assumptions = [
    `Network: preset '${presetName}', ${(total / 1e6).toFixed(2)} M parameters, of which the fully connected layers (model parallel in the hybrid) hold ` +
      `${(fcParams / 1e6).toFixed(2)} M (${((100 * fcParams) / total).toFixed(1)}%) and do ${(100 * fcFlopShare).toFixed(1)}% of the FLOPs; ` +
      'sizes and FLOPs from the model spec (lib/models/alexnet_spec.ts).',
    `Compute per GPU: ${computeSource}. Communication does not slow computation down (NCCL's kernels share the GPU in reality).`,
    `NVLink within a node of ${gpusPerNode} GPUs: ${nvlinkGbps} GB/s per GPU each way × ${linkEff} = ${(nvlinkGbps * linkEff).toFixed(0)} GB/s, ` +
      `${nvlinkLatency * 1e6} µs per ring step.`,
    `Between nodes: ${nicsPerNode} NIC${nicsPerNode > 1 ? 's' : ''} of ${networkGbit.join(' or ')} Gb/s per node shared by its ${gpusPerNode} GPUs, × ${linkEff} ` +
      `= ${fabrics.map(([, f]) => (f.network.bandwidth / 1e9).toFixed(1)).join(' or ')} GB/s per GPU, ${networkLatency * 1e6} µs per ring step.`,
    'Collectives are rings at the speed of the slowest link they cross (NVLink up to one node, the network beyond): an all-reduce of S bytes sends ' +
      '2(N−1)/N·S per GPU in 2(N−1) steps, an all-gather or reduce-scatter of a tensor of S bytes (N shards) (N−1)/N·S in N−1 steps.',
    `Data parallel: every GPU runs the whole network on its batch; gradients, ${bytesPerValue} bytes per value, are packed in backward's order into ` +
      `buckets of at least ${bucketMiB} MiB (a layer is never split) and each bucket is all-reduced as soon as backward has produced it, ` +
      'one bucket at a time, overlapping the rest of backward (as PyTorch DDP does).',
    'Hybrid: the convolutional layers as in data parallel; fc6–fc8 model parallel: each GPU holds 1/N of each layer\'s output features and computes them ' +
      'for all N·B images, so each fully connected layer\'s input (N·B rows) is all-gathered before it and its input gradient reduce-scattered after; the ' +
      'logits go to the GPU that owns each image and their gradient comes back (all-to-all); weights are never sent. These exchanges are not overlapped ' +
      'with compute; each GPU updates its convolutional weights and 1/N of the fully connected ones.',
    `Weak scaling: ${batch} images per GPU, efficiency = T(1 GPU) / T(N). Strong scaling: a global batch of ${globalBatch} split N ways, ` +
      'efficiency = throughput(N) / (N × throughput(1)); the compute rate is assumed not to fall at small per-GPU batches, which flatters it.',
    `Bytes: per step each GPU sends as much as it receives; the hybrid sends fewer bytes than data parallel below N = ${crossover.toFixed(1)} GPUs ` +
      `at ${batch} images per GPU (fc weight gradients against the fc layers' gathered inputs).`,
  ];

  const lines: string[] = [];
  lines.push(`Per-layer model at ${batch} images per GPU (one GPU):`, '');
  lines.push(...layerTable(layers, timer, batch), '');
  lines.push(`Weak scaling: ${batch} images per GPU`, '');
  lines.push(...scalingTable(weak, gpusPerNode), '');
  lines.push(`Strong scaling: global batch ${globalBatch}`, '');
  lines.push(...scalingTable(strong, gpusPerNode), '');
  lines.push('Assumptions:', '', ...assumptions.map((a) => `- ${a}`));
  console.log(lines.join('\n'));
  if (values.markdown !== undefined) {
    const args = process.argv.slice(2).filter((a, i, all) => a !== '--markdown' && all[i - 1] !== '--markdown' && !a.startsWith('--markdown='));
    const command = `npm run bench:scaling${args.length > 0 ? ` -- ${args.join(' ')}` : ''}`;
    writeFileSync(values.markdown, `## Scaling model (projection, not measurement)\n\n\`${command}\`\n\n${lines.join('\n')}\n`);
  }
}

const ms = (s: number): string => (s * 1e3).toFixed(3);
const mb = (b: number): string => (b / 1e6).toFixed(1);

function layerTable(layers: LayerProfile[], timer: Timer, batch: number): string[] {
  const rows = ['| layer | parameters | output values / image | GFLOP / image (fwd + bwd) | fwd ms | bwd ms |', '|---|---:|---:|---:|---:|---:|'];
  const other = { fwd: 0, bwd: 0, flops: 0 };
  let fwd = 0;
  let bwd = 0;
  for (const l of layers) {
    const t = timer.layer(l, batch, 1);
    fwd += t.fwd;
    bwd += t.bwd;
    if (l.params === 0) {
      other.fwd += t.fwd;
      other.bwd += t.bwd;
      continue;
    }
    rows.push(`| ${l.name} | ${l.params.toLocaleString('en-US')} | ${l.outValues.toLocaleString('en-US')} | ${((l.fwdFlops + l.bwdFlops) / 1e9).toFixed(3)} | ${ms(t.fwd)} | ${ms(t.bwd)} |`);
  }
  const total = layers.reduce((s, l) => s + l.params, 0);
  const flops = layers.reduce((s, l) => s + l.fwdFlops + l.bwdFlops, 0);
  const update = timer.update(total);
  rows.push(`| ReLU, LRN, pooling, dropout | | | | ${ms(other.fwd)} | ${ms(other.bwd)} |`);
  rows.push(`| SGD update | | | | ${ms(update)} | |`);
  rows.push(`| **total** | **${total.toLocaleString('en-US')}** | | **${(flops / 1e9).toFixed(3)}** | **${ms(fwd + bwd + update)}** (step) | |`);
  return rows;
}

function scalingTable(runs: (readonly [string, ProjectionRow[]])[], gpusPerNode: number): string[] {
  const rows = ['| GPUs | between nodes | images / GPU | data parallel img/s | efficiency | MB sent / GPU / step | hybrid img/s | efficiency | MB sent / GPU / step |',
    '|---:|---|---:|---:|---:|---:|---:|---:|---:|'];
  const pct = (e: number): string => `${(100 * e).toFixed(e < 0.1 ? 1 : 0)}%`;
  runs.forEach(([network, projection], i) => {
    for (const r of projection) {
      const within = r.gpus <= gpusPerNode;
      if (within && i > 0) continue; // one node: NVLink only, the same for every network
      const d = r.dataParallel;
      const h = r.hybrid;
      rows.push(`| ${r.gpus} | ${within ? '— (NVLink)' : network} | ${Number(r.batchPerGpu.toFixed(2))} | ${d.imagesPerSecond.toFixed(0)} | ${pct(d.efficiency)} | ` +
        `${mb(d.bytesSent)} | ${h.imagesPerSecond.toFixed(0)} | ${pct(h.efficiency)} | ${mb(h.bytesSent)} |`);
    }
  });
  return rows;
}

try {
  main();
} catch (e) {
  console.error(`scaling: ${(e as Error).message}`);
  process.exitCode = 1;
}
