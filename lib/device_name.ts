// Device names as types: "cpu", "cuda", "cpu:N", "cuda:N", and a stream "/L" of either
// ("cuda:0/1", "cpu/1"). A literal with a typo ('gpu', 'cuda0') does not compile; a string from
// outside the program (a flag, a config file, an environment variable) goes through deviceName().
import { describe } from './validate.js';

export type DeviceKind = 'cpu' | 'cuda';
export type DeviceName =
  | DeviceKind
  | `${DeviceKind}:${number}`
  | `${DeviceKind}/${number}`
  | `${DeviceKind}:${number}/${number}`;

// The same grammar as the native core's parser: an index and a stream of at most four digits.
const DEVICE_NAME = /^(cpu|cuda)(:\d{1,4})?(\/\d{1,4})?$/;

/**
 * Checks that `s` is a device name and returns it as one; a TypeError naming `what` (the flag,
 * file or variable it came from) otherwise. Whether the device exists here is a separate question
 * (checkDevice).
 */
export function deviceName(s: string, what = 'device'): DeviceName {
  if (typeof s !== 'string' || !DEVICE_NAME.test(s))
    throw new TypeError(`${what} must be "cpu", "cpu:N", "cuda" or "cuda:N", optionally with a stream "/L" ` +
      `("cuda:0/1"), got ${typeof s === 'string' ? JSON.stringify(s) : describe(s)}`);
  return s as DeviceName;
}
