// ImageNet-style folders: <root>/<class>/*.{jpg,jpeg,png}, classes in sorted order; or a flat
// folder of images with a label file (validation sets).
import { readdir, stat } from 'node:fs/promises';
import { basename, extname, join, resolve } from 'node:path';

import { AlexNetError } from '../errors.js';
import { readRegularFile } from '../io/regular_file.js';
import { describe } from '../validate.js';
import { Dataset, fingerprintOf } from './dataset.js';
import { dataBinding } from './native.js';

export const IMAGE_EXTENSIONS: readonly string[] = Object.freeze(['.jpg', '.jpeg', '.png']);

export interface ImageFolderOptions {
  /**
   * A text file labelling a flat folder: one `<file> <label>` per line (separated by spaces, tabs
   * or a comma; further fields are ignored; `#` starts a comment). The file may omit its extension
   * (Kaggle's LOC_val_solution.csv), and a first line whose label is unknown is taken as a header.
   * A label is a class name from `classNames` or a class index.
   */
  labelFile?: string;
  /** Class names in label order; with labelFile, pass the training set's (train.classNames). */
  classNames?: readonly string[];
  /** 3 (default) or 1. */
  channels?: 1 | 3;
  /** Case-insensitive file extensions; default .jpg, .jpeg, .png. */
  extensions?: readonly string[];
}

export async function imageFolder(root: string, options: ImageFolderOptions = {}): Promise<Dataset> {
  if (typeof root !== 'string') throw new TypeError(`root must be a folder path, got ${describe(root)}`);
  const { channels = 3, extensions = IMAGE_EXTENSIONS } = options;
  if (channels !== 1 && channels !== 3) throw new RangeError(`options.channels must be 1 or 3, got ${describe(channels)}`);
  if (!Array.isArray(extensions) || extensions.some((e) => typeof e !== 'string'))
    throw new TypeError(`options.extensions must be an array of strings, got ${describe(extensions)}`);
  if (options.classNames !== undefined && (!Array.isArray(options.classNames) ||
      options.classNames.some((c) => typeof c !== 'string')))
    throw new TypeError(`options.classNames must be an array of strings, got ${describe(options.classNames)}`);
  const wanted = new Set(extensions.map((e) => e.toLowerCase()));
  const listing = options.labelFile === undefined
    ? await classFolders(root, wanted, options.classNames)
    : await labelledFolder(root, options.labelFile, wanted, options.classNames);
  const labels = Int32Array.from(listing.labels);
  return new Dataset({
    name: root, kind: 'files', source: dataBinding().dataFileSource(listing.paths, labels), labels,
    classNames: Object.freeze([...listing.classNames]), channels, imageSize: null, defaultSize: 256,
    fingerprint: fingerprintOf('folder', channels, listing.paths, labels), paths: listing.paths,
  });
}

export interface ImageFilesOptions {
  /** One label per file (default all 0: for prediction, where labels are unknown). */
  labels?: ArrayLike<number>;
  classNames?: readonly string[];
  channels?: 1 | 3;
}

/** A data set of the given JPEG/PNG files (checked to exist), e.g. the images to classify. */
export async function imageFiles(paths: readonly string[], options: ImageFilesOptions = {}): Promise<Dataset> {
  if (!Array.isArray(paths) || paths.some((p) => typeof p !== 'string'))
    throw new TypeError(`paths must be an array of file paths, got ${describe(paths)}`);
  const { channels = 3 } = options;
  if (channels !== 1 && channels !== 3) throw new RangeError(`options.channels must be 1 or 3, got ${describe(channels)}`);
  const files = paths.map((p) => resolve(p));
  await Promise.all(files.map((f, i) => stat(f).catch((e: NodeJS.ErrnoException) => {
    throw new AlexNetError(`${paths[i]}: ${e.code === 'ENOENT' ? 'no such file' : e.message}`, 'IO_ERROR', 'stat');
  })));
  const labels = Int32Array.from(options.labels ?? new Int32Array(files.length));
  if (labels.length !== files.length) throw new RangeError(`options.labels has ${labels.length} entries for ${files.length} files`);
  let max = 0;
  for (const l of labels) max = Math.max(max, l);
  const classNames = options.classNames ?? Array.from({ length: max + 1 }, (_, i) => String(i));
  labels.forEach((l, i) => {
    if (l < 0 || l >= classNames.length) throw new RangeError(`options.labels[${i}] is ${l}, expected 0 .. ${classNames.length - 1}`);
  });
  return new Dataset({
    name: files.length === 1 ? files[0] : `${files.length} image files`, kind: 'files',
    source: dataBinding().dataFileSource(files, labels), labels, classNames: Object.freeze([...classNames]), channels,
    imageSize: null, defaultSize: 256, fingerprint: fingerprintOf('files', channels, files, labels), paths: files,
  });
}

interface Listing { paths: string[]; labels: number[]; classNames: readonly string[] }

async function list(dir: string): Promise<import('node:fs').Dirent[]> {
  try {
    return await readdir(dir, { withFileTypes: true });
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    throw new AlexNetError(`${dir}: ${err.code === 'ENOENT' ? 'no such folder' : err.message}`, 'IO_ERROR', 'readdir');
  }
}

// Symbolic links are followed (data sets are often assembled from links).
async function isDirectory(dir: string, entry: import('node:fs').Dirent): Promise<boolean> {
  if (entry.isDirectory()) return true;
  return entry.isSymbolicLink() && (await stat(join(dir, entry.name)).catch(() => null))?.isDirectory() === true;
}

function imageNames(entries: import('node:fs').Dirent[], wanted: Set<string>): string[] {
  return entries.filter((e) => (e.isFile() || e.isSymbolicLink()) && wanted.has(extname(e.name).toLowerCase()))
    .map((e) => e.name).sort(byCodePoint);
}

function byCodePoint(a: string, b: string): number { return a < b ? -1 : a > b ? 1 : 0; }

async function classFolders(root: string, wanted: Set<string>, given?: readonly string[]): Promise<Listing> {
  const entries = await list(root);
  const found: string[] = [];
  for (const e of entries) if (await isDirectory(root, e)) found.push(e.name);
  found.sort(byCodePoint);
  if (found.length === 0) throw new AlexNetError(`${root}: no class folders (expected <root>/<class>/*.jpg)`, 'BAD_FILE');
  const classNames = given ?? found;
  const index = new Map(classNames.map((c, i) => [c, i]));
  const paths: string[] = [];
  const labels: number[] = [];
  for (const name of found) {
    const label = index.get(name);
    if (label === undefined)
      throw new AlexNetError(`${join(root, name)}: class folder "${name}" is not in options.classNames`, 'BAD_FILE');
    const dir = join(root, name);
    const images = imageNames(await list(dir), wanted);
    if (images.length === 0)
      throw new AlexNetError(`${dir}: class folder has no images (${[...wanted].join(', ')})`, 'BAD_FILE');
    for (const f of images) {
      paths.push(join(dir, f));
      labels.push(label);
    }
  }
  return { paths, labels, classNames };
}

async function labelledFolder(root: string, labelFile: string, wanted: Set<string>,
  given?: readonly string[]): Promise<Listing> {
  if (typeof labelFile !== 'string') throw new TypeError(`options.labelFile must be a path, got ${describe(labelFile)}`);
  let text: string;
  try {
    text = (await readRegularFile(labelFile, 'label file')).toString('utf8');
  } catch (e) {
    if (e instanceof AlexNetError) throw e;
    throw new AlexNetError(`${labelFile}: ${(e as Error).message}`, 'IO_ERROR', 'readFile');
  }
  const files = imageNames(await list(root), wanted);
  const byName = new Map<string, string>();
  for (const f of files) {
    byName.set(f, f);
    const stem = basename(f, extname(f));
    if (!byName.has(stem)) byName.set(stem, f);
  }
  const rows: [string, string, number][] = [];
  text.split(/\r?\n/).forEach((line, i) => {
    const content = line.replace(/#.*/, '').trim();
    if (content) {
      const [file, label] = content.split(/[\s,]+/);
      rows.push([file, label ?? '', i + 1]);
    }
  });
  // A first line that names no image of the folder is a header ("ImageId,PredictionString").
  if (rows.length > 0 && !byName.has(rows[0][0])) rows.shift();
  const classNames = given ?? [...new Set(rows.map((r) => r[1]).filter((l) => !/^\d+$/.test(l)))].sort(byCodePoint);
  const index = new Map(classNames.map((c, i) => [c, i]));
  const paths: string[] = [];
  const labels: number[] = [];
  let maxIndex = classNames.length - 1;
  for (const [file, label, line] of rows) {
    const value = index.get(label) ?? (/^\d+$/.test(label) ? Number(label) : undefined);
    if (value === undefined || (given !== undefined && value >= given.length))
      throw new AlexNetError(`${labelFile}:${line}: unknown label "${label}"`, 'BAD_FILE');
    const name = byName.get(file);
    if (name === undefined) throw new AlexNetError(`${labelFile}:${line}: no image "${file}" in ${root}`, 'BAD_FILE');
    paths.push(join(root, name));
    labels.push(value);
    maxIndex = Math.max(maxIndex, value);
  }
  if (paths.length === 0) throw new AlexNetError(`${labelFile}: labels no image of ${root}`, 'BAD_FILE');
  const names = classNames.length > maxIndex ? classNames : Array.from({ length: maxIndex + 1 }, (_, i) => classNames[i] ?? String(i));
  return { paths, labels, classNames: names };
}
