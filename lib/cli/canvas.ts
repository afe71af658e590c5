// A minimal RGB canvas for the plots: pixels, lines, rectangles, bitmap text, PNG output (pngjs).
import { PNG } from 'pngjs';
import { GLYPH_HEIGHT, GLYPH_WIDTH, glyph } from './font.js';

export type Colour = [number, number, number];

export class Canvas {
  readonly png: PNG;

  constructor(readonly width: number, readonly height: number, background: Colour = [255, 255, 255]) {
    this.png = new PNG({ width, height });
    this.fillRect(0, 0, width, height, background);
  }

  set(x: number, y: number, c: Colour): void {
    x = Math.round(x);
    y = Math.round(y);
    if (x < 0 || y < 0 || x >= this.width || y >= this.height) return;
    const i = (y * this.width + x) * 4;
    this.png.data[i] = c[0];
    this.png.data[i + 1] = c[1];
    this.png.data[i + 2] = c[2];
    this.png.data[i + 3] = 255;
  }

  fillRect(x: number, y: number, w: number, h: number, c: Colour): void {
    for (let j = Math.round(y); j < Math.round(y + h); j++)
      for (let i = Math.round(x); i < Math.round(x + w); i++) this.set(i, j, c);
  }

  /** A line `thickness` pixels wide (a square brush along Bresenham's path). */
  line(x0: number, y0: number, x1: number, y1: number, c: Colour, thickness = 1): void {
    // At most one step per pixel of the canvas: a line from far outside it costs no more.
    const steps = Math.min(Math.max(Math.abs(x1 - x0), Math.abs(y1 - y0), 1), 2 * (this.width + this.height));
    if (!Number.isFinite(steps)) return;
    const r = (thickness - 1) / 2;
    for (let s = 0; s <= steps; s++) {
      const x = x0 + ((x1 - x0) * s) / steps;
      const y = y0 + ((y1 - y0) * s) / steps;
      if (thickness <= 1) this.set(x, y, c);
      else this.fillRect(x - r, y - r, thickness, thickness, c);
    }
  }

  /** Text with its top-left corner at (x, y). */
  text(x: number, y: number, text: string, c: Colour, scale = 1): void {
    [...text].forEach((ch, k) => {
      const rows = glyph(ch);
      const left = x + k * (GLYPH_WIDTH + 1) * scale;
      for (let row = 0; row < GLYPH_HEIGHT; row++)
        for (let col = 0; col < GLYPH_WIDTH; col++)
          if (rows[row]! & (1 << (GLYPH_WIDTH - 1 - col))) this.fillRect(left + col * scale, y + row * scale, scale, scale, c);
    });
  }

  toPng(): Buffer {
    return PNG.sync.write(this.png);
  }
}
