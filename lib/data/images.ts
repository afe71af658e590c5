// Encoding images: for tests, benchmarks and tools that need JPEG or PNG files (not the training
// path). Synchronous.
import { describe, integer } from '../validate.js';
import { dataBinding } from './native.js';

export interface EncodeOptions {
  format?: 'jpeg' | 'png';
  /** JPEG quality 1..100 (default 90). */
  quality?: number;
}

/** Encodes [height, width, channels] bytes (channels 1 or 3, RGB) as JPEG (libjpeg-turbo) or PNG. */
export function encodeImage(pixels: Uint8Array, width: number, height: number, channels: 1 | 3,
  options: EncodeOptions = {}): Buffer {
  if (!(pixels instanceof Uint8Array)) throw new TypeError(`pixels must be a Uint8Array, got ${describe(pixels)}`);
  integer(width, 'width', 1);
  integer(height, 'height', 1);
  if (channels !== 1 && channels !== 3) throw new RangeError(`channels must be 1 or 3, got ${describe(channels)}`);
  if (pixels.length !== width * height * channels)
    throw new RangeError(`pixels has ${pixels.length} bytes, expected width * height * channels = ${width * height * channels}`);
  const format = options.format ?? 'jpeg';
  if (format !== 'jpeg' && format !== 'png') throw new TypeError(`options.format must be "jpeg" or "png", got ${describe(format)}`);
  const quality = integer(options.quality ?? 90, 'options.quality', 1, 100);
  return dataBinding().dataEncodeImage(pixels, width, height, channels, format, quality);
}
