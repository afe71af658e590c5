// Type-checked, never run: each statement marked `@ts-expect-error` must NOT compile for a strict
// consumer. If a device name or an error code ever widens back to `string` (or a shape becomes
// mutable), the marker has no error to expect and tsc fails the package check.
import { AlexNetError, Tensor, alexnet, deviceName, setPrecision, type AlexNetErrorCode, type DeviceName } from 'alexnet-cudnn';

// Device names.
// @ts-expect-error 'gpu' is no device kind
Tensor.zeros([1], 'gpu');
// @ts-expect-error the index needs a colon
Tensor.zeros([1], 'cuda0');
// @ts-expect-error the index is a number
Tensor.fromArray(new Float32Array(1), [1], 'cpu:x');
// @ts-expect-error device kinds are lower case
alexnet({ device: 'CUDA:0' });
// @ts-expect-error 'tpu' is no device kind
setPrecision('tpu', 'tf32');
// @ts-expect-error a string from outside the program is checked by deviceName() first
const unchecked: DeviceName = process.env.ALEXNET_DEVICE ?? 'cpu';
// These compile: the literal forms, and a checked outside string.
export const names: DeviceName[] = ['cpu', 'cuda', 'cpu:1', 'cuda:0/1', deviceName(process.env.ALEXNET_DEVICE ?? 'cpu', 'ALEXNET_DEVICE')];

// Error codes.
export function isMissingGpu(e: AlexNetError): boolean {
  // @ts-expect-error a misspelt code compares with nothing
  return e.code === 'CUDA_UNAVAILBLE';
}
// @ts-expect-error no such code
const oom: AlexNetErrorCode = 'OOM';
export const code: AlexNetErrorCode = 'OUT_OF_MEMORY';

// Shapes.
export function grow(t: Tensor): void {
  // @ts-expect-error Tensor.shape is read-only
  t.shape.push(1);
}

export { oom, unchecked };
