// Named layers applied in order; the names make the state dict's keys (`conv1.weight`).
import type { Tensor } from '../tensor.js';
import { describe } from '../validate.js';
import { Module } from './module.js';

/** Anything that maps an input shape to an output shape: a Module, or a layer's shape rule alone. */
export interface ShapeRule {
  outputShape(shape: readonly number[]): number[];
}

/** The output shape of every layer for an input of `shape`; the RangeError names the layer and the shapes so far. */
export function shapesThrough(layers: readonly (readonly [string, ShapeRule])[], shape: readonly number[]): [string, number[]][] {
  const out: [string, number[]][] = [];
  let s = [...shape];
  for (const [name, layer] of layers) {
    try {
      s = layer.outputShape(s);
    } catch (e) {
      const sofar = out.map(([n, sh]) => `${n} [${sh.join(', ')}]`).join(', ');
      throw new RangeError(`${name}: ${(e as Error).message} (input [${shape.join(', ')}]${sofar ? `, ${sofar}` : ''})`);
    }
    out.push([name, s]);
  }
  return out;
}

export class Sequential extends Module {
  private readonly layers: [string, Module][];

  constructor(layers: [string, Module][] | Record<string, Module>) {
    super();
    const entries = Array.isArray(layers) ? layers : Object.entries(layers);
    const seen = new Set<string>();
    entries.forEach(([name, m], i) => {
      if (typeof name !== 'string' || name === '' || name.includes('.'))
        throw new TypeError(`layers[${i}] name must be a non-empty string without '.', got ${describe(name)}`);
      if (seen.has(name)) throw new RangeError(`layers[${i}]: duplicate name '${name}'`);
      if (!(m instanceof Module)) throw new TypeError(`layers[${i}] ('${name}') must be a Module, got ${describe(m)}`);
      seen.add(name);
    });
    this.layers = entries.map(([n, m]) => [n, m]);
  }

  override children(): [string, Module][] {
    return [...this.layers];
  }

  /** The layer called `name`. */
  get(name: string): Module {
    const found = this.layers.find(([n]) => n === name);
    if (!found) throw new RangeError(`no layer named '${name}' (have ${this.layers.map(([n]) => n).join(', ')})`);
    return found[1];
  }

  override outputShape(shape: readonly number[]): number[] {
    return this.shapes(shape).at(-1)?.[1] ?? [...shape];
  }

  /** The output shape of every layer for an input of `shape`; the RangeError names the layer and the shapes so far. */
  shapes(shape: readonly number[]): [string, number[]][] {
    return shapesThrough(this.layers, shape);
  }

  forward(x: Tensor): Tensor {
    let h = x;
    for (const [, layer] of this.layers) {
      const y = layer.forward(h);
      if (h !== x) h.dispose();
      h = y;
    }
    return h === x ? x.reshape(x.shape) : h;
  }

  backward(dy: Tensor): Tensor | null {
    let g: Tensor | null = dy;
    for (let i = this.layers.length - 1; i >= 0; i--) {
      const [name, layer] = this.layers[i]!;
      if (g === null) throw new Error(`layer '${name}' needs a gradient but the layer after it computed none (inputGrad off)`);
      const next: Tensor | null = layer.backward(g);
      if (g !== dy) g.dispose();
      g = next;
    }
    return g === dy ? dy.reshape(dy.shape) : g;
  }
}
