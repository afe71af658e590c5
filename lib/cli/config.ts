// A JSON config file for `alexnet train --config FILE`: an object whose keys are the command's
// long flags (kebab-case or camelCase). Flags on the command line win over the file.
import { readFileSync } from 'node:fs';
import { UsageError, type Options } from './args.js';

const kebab = (key: string): string => key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);

export function readConfig(command: string, file: string, options: Options): Record<string, string | boolean> {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new UsageError(`alexnet ${command}: cannot read --config ${file}: ${(e as Error).message.split('\n')[0]}`);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json))
    throw new UsageError(`alexnet ${command}: --config ${file} must hold a JSON object of flags`);
  const out: Record<string, string | boolean> = {};
  for (const [key, value] of Object.entries(json)) {
    const name = kebab(key);
    const spec = options[name];
    if (!spec || name === 'config') throw new UsageError(`alexnet ${command}: --config ${file}: unknown setting '${key}'`);
    if (spec.type === 'boolean') {
      if (typeof value !== 'boolean') throw new UsageError(`alexnet ${command}: --config ${file}: '${key}' must be true or false`);
      out[name] = value;
    } else {
      if (typeof value !== 'string' && typeof value !== 'number') throw new UsageError(`alexnet ${command}: --config ${file}: '${key}' must be a string or a number`);
      out[name] = String(value);
    }
  }
  return out;
}
