// The paper's layer shapes (one device, grouped convolutions), shared by the op benchmarks.
export interface ConvCase { kind: 'conv'; name: string; n: number; c: number; h: number; o: number; k: number; stride: number; pad: number; groups: number }
export interface LrnCase { kind: 'lrn'; name: string; n: number; c: number; h: number }
export interface PoolCase { kind: 'pool'; name: string; n: number; c: number; h: number }
export interface LinearCase { kind: 'linear'; name: string; n: number; in: number; out: number }
export type BenchCase = ConvCase | LrnCase | PoolCase | LinearCase;

export function alexnetCases(n: number): BenchCase[] {
  return [
    { kind: 'conv', name: 'conv1', n, c: 3, h: 224, o: 96, k: 11, stride: 4, pad: 2, groups: 1 },
    { kind: 'lrn', name: 'lrn1', n, c: 96, h: 55 },
    { kind: 'pool', name: 'pool1', n, c: 96, h: 55 },
    { kind: 'conv', name: 'conv2', n, c: 96, h: 27, o: 256, k: 5, stride: 1, pad: 2, groups: 2 },
    { kind: 'lrn', name: 'lrn2', n, c: 256, h: 27 },
    { kind: 'pool', name: 'pool2', n, c: 256, h: 27 },
    { kind: 'conv', name: 'conv3', n, c: 256, h: 13, o: 384, k: 3, stride: 1, pad: 1, groups: 1 },
    { kind: 'conv', name: 'conv4', n, c: 384, h: 13, o: 384, k: 3, stride: 1, pad: 1, groups: 2 },
    { kind: 'conv', name: 'conv5', n, c: 384, h: 13, o: 256, k: 3, stride: 1, pad: 1, groups: 2 },
    { kind: 'pool', name: 'pool5', n, c: 256, h: 13 },
    { kind: 'linear', name: 'fc6', n, in: 9216, out: 4096 },
    { kind: 'linear', name: 'fc7', n, in: 4096, out: 4096 },
    { kind: 'linear', name: 'fc8', n, in: 4096, out: 1000 },
  ];
}

const out = (h: number, k: number, s: number, p: number) => Math.floor((h + 2 * p - k) / s) + 1;

/** Work of forward + backward: FLOPs for conv/linear (3 GEMM-sized passes), bytes moved for LRN/pool. */
export function work(c: BenchCase): { flops?: number; bytes?: number } {
  switch (c.kind) {
    case 'conv': {
      const oh = out(c.h, c.k, c.stride, c.pad);
      return { flops: 3 * 2 * c.n * c.o * oh * oh * (c.c / c.groups) * c.k * c.k };
    }
    case 'linear':
      return { flops: 3 * 2 * c.n * c.in * c.out };
    case 'lrn': {
      const size = c.n * c.c * c.h * c.h * 4;
      return { bytes: 2 * size + 4 * size }; // forward reads x writes y; backward reads dy, x, y writes dx
    }
    case 'pool': {
      const size = c.n * c.c * c.h * c.h * 4;
      const o = out(c.h, 3, 2, 0);
      const osize = c.n * c.c * o * o * 4;
      return { bytes: size + osize + (size + 2 * osize + size) };
    }
  }
}
