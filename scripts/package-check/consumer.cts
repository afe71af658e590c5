// Type-checked as a strict CommonJS TypeScript consumer (tsc --strict, module nodenext).
import alexnetCudnn = require('alexnet-cudnn');

export function firstBlock(x: alexnetCudnn.Tensor, w: alexnetCudnn.Tensor): alexnetCudnn.Tensor {
  return alexnetCudnn.ops.relu(alexnetCudnn.ops.conv2d(x, w, null, { stride: 4, padding: 2 }));
}
