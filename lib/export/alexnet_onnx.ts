// AlexNet as an ONNX graph for inference, layer by layer from the built network, so the graph is
// what the model computes: Conv (conv2, conv4, conv5 with group 2: the paper's two columns), Relu,
// LRN, MaxPool, Flatten and Gemm; dropout is the identity at inference and is left out.
//
// LRN: ONNX divides its alpha by the window size (Y = X / (bias + alpha / size · Σ X²)^beta), as
// cuDNN and Caffe do, while ours is the paper's α as its formula writes it: the exported alpha is
// α·size. Our LRN layers normalise within each column's channels (groups = 2), which the ONNX LRN
// cannot say: the channels are split into the groups, each normalised, and concatenated again.
import type { AlexNet } from '../models/alexnet.js';
import { Conv2d } from '../nn/conv2d.js';
import { Dropout } from '../nn/dropout.js';
import { Flatten } from '../nn/flatten.js';
import { Linear } from '../nn/linear.js';
import { LocalResponseNorm } from '../nn/local_response_norm.js';
import { MaxPool2d } from '../nn/max_pool2d.js';
import type { Parameter } from '../nn/parameter.js';
import { ReLU } from '../nn/relu.js';
import { encodeOnnxModel, type OnnxInitializer, type OnnxNode } from './onnx_proto.js';

/** The operator set the export targets (Split with equal parts, no `num_outputs`, is opset 13 to 17). */
export const ONNX_OPSET = 17;

export interface OnnxExportOptions {
  /** End with a softmax: the output is then `probabilities` instead of `logits`. */
  softmax?: boolean;
  /** Written into the model's metadata_props (e.g. how inputs are prepared). */
  metadata?: Record<string, string>;
  /** The producer's version. */
  version?: string;
}

/** What an export wrote: the graph's input and output and the nodes, for reports. */
export interface OnnxExport {
  bytes: Uint8Array;
  opset: number;
  input: { name: string; shape: (number | string)[] };
  output: { name: string; shape: (number | string)[] };
  ops: string[];
}

/**
 * The ONNX model of `model` (one device, eval mode or not: the graph is inference only). Input
 * `input`: float32 [N, C, H, W], prepared as for evaluation; output `logits` [N, classes] (or
 * `probabilities` with `softmax`). Waits for the weights to be read back from the device.
 */
export async function alexnetToOnnx(model: AlexNet, options: OnnxExportOptions = {}): Promise<OnnxExport> {
  const nodes: OnnxNode[] = [];
  const initializers: OnnxInitializer[] = [];
  const [c, h, w] = model.inputShape;
  const input = { name: 'input', shape: ['N', c, h, w] as (number | string)[] };
  let x = input.name;
  const weight = async (name: string, t: Parameter): Promise<string> => {
    const data = await t.value.toArray();
    if (!(data instanceof Float32Array)) throw new TypeError(`parameter '${name}' must be float32 to be exported`);
    initializers.push({ name, dims: t.value.shape, data });
    return name;
  };
  const add = (op: string, name: string, inputs: string[], attributes?: OnnxNode['attributes'], outputs = [name]): string => {
    nodes.push({ op, name, inputs, outputs, attributes });
    return outputs[0]!;
  };
  for (const [name, layer] of model.children()) {
    if (layer instanceof Conv2d) {
      const inputs = [x, await weight(`${name}.weight`, layer.weight)];
      if (layer.bias) inputs.push(await weight(`${name}.bias`, layer.bias));
      x = add('Conv', name, inputs, {
        kernel_shape: { ints: layer.kernel }, strides: { ints: layer.stride }, dilations: { ints: [1, 1] },
        pads: { ints: [layer.padding[0], layer.padding[1], layer.padding[0], layer.padding[1]] }, group: { int: layer.groups },
      });
    } else if (layer instanceof ReLU) {
      x = add('Relu', name, [x]);
    } else if (layer instanceof LocalResponseNorm) {
      const attributes = { size: { int: layer.size }, alpha: { float: layer.alpha * layer.size }, beta: { float: layer.beta }, bias: { float: layer.k } };
      if (layer.groups === 1) {
        x = add('LRN', name, [x], attributes);
      } else {
        const parts = Array.from({ length: layer.groups }, (_, g) => `${name}.column${g + 1}`);
        add('Split', `${name}.split`, [x], { axis: { int: 1 } }, parts);
        const normalised = parts.map((p) => add('LRN', `${p}.lrn`, [p], attributes));
        x = add('Concat', name, normalised, { axis: { int: 1 } });
      }
    } else if (layer instanceof MaxPool2d) {
      x = add('MaxPool', name, [x], { kernel_shape: { ints: layer.kernel }, strides: { ints: layer.stride }, pads: { ints: [0, 0, 0, 0] } });
    } else if (layer instanceof Dropout) {
      continue;  // the identity at inference (inverted dropout scales in training only)
    } else if (layer instanceof Flatten) {
      x = add('Flatten', name, [x], { axis: { int: 1 } });
    } else if (layer instanceof Linear) {
      const inputs = [x, await weight(`${name}.weight`, layer.weight)];
      if (layer.bias) inputs.push(await weight(`${name}.bias`, layer.bias));
      // Y = X · Wᵀ + b with W stored [out, in], as ours is.
      x = add('Gemm', name, inputs, { transB: { int: 1 } });
    } else {
      throw new TypeError(`layer '${name}' (${layer.constructor.name}) has no ONNX export`);
    }
  }
  if (x !== 'logits') {
    // The last layer's output is the graph's: name it for users.
    const last = nodes.at(-1)!;
    last.outputs = ['logits'];
    x = 'logits';
  }
  if (options.softmax) x = add('Softmax', 'probabilities', [x], { axis: { int: 1 } });
  const output = { name: x, shape: ['N', model.config.numClasses] as (number | string)[] };
  const bytes = encodeOnnxModel({
    graphName: 'alexnet', nodes, initializers, inputs: [{ name: input.name, dims: input.shape }], outputs: [{ name: output.name, dims: output.shape }], opset: ONNX_OPSET,
    producer: { name: 'alexnet-cudnn', version: options.version ?? '' },
    doc: 'AlexNet (Krizhevsky, Sutskever & Hinton, 2012); dropout left out (inference); LRN alpha = the paper\'s alpha times size',
    metadata: options.metadata,
  });
  return { bytes, opset: ONNX_OPSET, input, output, ops: nodes.map((n) => n.op) };
}
