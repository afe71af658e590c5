// `alexnet export`: a checkpoint's weights without momentum (safetensors), or the network as an
// ONNX model for inference elsewhere (onnxruntime, TensorRT, browsers).
import { stat } from 'node:fs/promises';
import { writeFileAtomic } from '../io/atomic.js';
import { checkpointPath, readWeightsFile } from '../io/checkpoint.js';
import { alexnetToOnnx, exportWeightsOnly, ONNX_OPSET } from '../export/index.js';
import { loadModel } from '../train/load_model.js';
import { parse, usage } from './args.js';
import { version } from './info.js';
import { describePlain, MODEL_FLAG_OPTIONS, modelFlagsGiven, MODEL_FLAGS_HELP, plainModel, refuseModelFlags } from './model_flags.js';

export const exportHelp = `Usage: alexnet export CHECKPOINT [--weights-only OUT.safetensors] [--onnx OUT.onnx] [options]

Writes a checkpoint (a .safetensors file, or a run directory: its best checkpoint) in another form;
give at least one of:

  --weights-only FILE  the weights without the momentum training keeps beside them (about half
                       the file), with the record of the model and of how its images are prepared
                       and the data statistics, so alexnet eval and predict read it like the
                       checkpoint; training cannot resume from it. A plain state dict comes out
                       as one under our names (conv1.weight ... fc8.bias) in float32.
  --onnx FILE          the network as an ONNX model (opset ${ONNX_OPSET}) for inference: input "input",
                       float32 [N, C, H, W] prepared as for eval (pixel scale, minus the mean: not
                       part of the model); output "logits" [N, classes]. conv2, conv4 and conv5 are
                       grouped convolutions (group 2: the two columns), each LRN is the ONNX LRN
                       on each column's channels with alpha = the paper's alpha x size (ONNX
                       divides alpha by size), pooling is MaxPool 3/2, the fully connected layers
                       are Gemm, dropout is left out (inference).
  --softmax            end the ONNX model with a softmax: output "probabilities" instead
  --json               print what was written as JSON
  -h, --help

${MODEL_FLAGS_HELP}`;

export async function exportCommand(argv: string[]): Promise<number> {
  const c = 'export';
  const { values: v, positionals } = parse(c, argv, {
    'weights-only': { type: 'string' }, onnx: { type: 'string' }, softmax: { type: 'boolean' }, json: { type: 'boolean' },
    ...MODEL_FLAG_OPTIONS,
  }, true);
  if (v.help) {
    console.log(exportHelp);
    return 0;
  }
  if (positionals.length !== 1) usage(c, `give one checkpoint (a .safetensors file or a run directory), got ${positionals.length}`);
  const weightsOut = v['weights-only'] as string | undefined;
  const onnxOut = v.onnx as string | undefined;
  if (weightsOut === undefined && onnxOut === undefined) usage(c, 'give --weights-only FILE, --onnx FILE, or both');
  if (v.softmax && onnxOut === undefined) usage(c, '--softmax applies to --onnx');
  const source = await readWeightsFile(checkpointPath(positionals[0]!, 'best'));
  let plain: ReturnType<typeof plainModel> | undefined;
  if (source.state) refuseModelFlags(c, v, source.file);
  else {
    // The architecture matters only to the ONNX graph; the weights-only copy is checked by whoever loads it.
    if (onnxOut !== undefined) plain = plainModel(c, v);
    else if (modelFlagsGiven(v).length > 0) usage(c, `${modelFlagsGiven(v).join(', ')}: the model flags describe the network for --onnx; --weights-only copies the tensors as they are`);
    if (!v.json) process.stderr.write(`${describePlain(source)}\n`);
  }
  const report: Record<string, unknown> = { checkpoint: source.file };
  const lines: string[] = [];
  if (weightsOut !== undefined) {
    const bytes = await exportWeightsOnly(source, weightsOut);
    const from = (await stat(source.file)).size;
    report.weightsOnly = { file: weightsOut, bytes, checkpointBytes: from, tensors: Object.keys(source.weights).length + Object.keys(source.extra).length };
    lines.push(`${weightsOut}: weights only, ${bytes} bytes (${source.file} has ${from})`);
  }
  if (onnxOut !== undefined) {
    const model = await loadModel(source.file, 'cpu', { model: plain?.model });
    try {
      const training = source.state?.training as { data?: unknown } | undefined;
      const preparation = training?.data ?? plain?.data;
      const exported = await alexnetToOnnx(model, {
        softmax: Boolean(v.softmax), version: version(),
        metadata: {
          'alexnet.model': JSON.stringify({ ...model.config, device: undefined }),
          ...(preparation ? { 'alexnet.input': JSON.stringify(preparation) } : {}),
        },
      });
      await writeFileAtomic(onnxOut, exported.bytes);
      report.onnx = { file: onnxOut, bytes: exported.bytes.length, opset: exported.opset, input: exported.input, output: exported.output };
      lines.push(`${onnxOut}: ONNX opset ${exported.opset}, ${exported.bytes.length} bytes; input "${exported.input.name}" ` +
        `[${exported.input.shape.join(', ')}], output "${exported.output.name}" [${exported.output.shape.join(', ')}]`);
    } finally {
      model.dispose();
    }
  }
  if (v.json) console.log(JSON.stringify(report));
  else console.log(lines.join('\n'));
  return 0;
}
