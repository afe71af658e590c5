// deviceName(): the checked way from an outside string (a flag, a config file, an environment
// variable) to a DeviceName. It accepts exactly the names the native core parses.
import { expect } from 'chai';
import { checkDevice, deviceName, type DeviceName } from '../lib/index.js';

const GOOD = ['cpu', 'cuda', 'cpu:0', 'cpu:1', 'cuda:0', 'cuda:7', 'cpu:0/1', 'cuda:0/1', 'cuda:1/2', 'cpu/1', 'cuda/3', 'cpu:9999/9999'];
const BAD = ['', 'gpu', 'CPU', 'Cuda:0', 'cuda0', 'cuda:', 'cpu:', 'cuda:-1', 'cuda:+1', 'cuda:1.5', 'cuda:1e3', 'cpu:x',
  'cpu/', 'cpu:0/', 'cpu:0/x', 'cuda:0/1/2', 'cuda:0:1', ' cpu', 'cpu ', 'cpu\n', 'cuda:12345', 'cpu:0/12345', 'tpu:0'];

describe('deviceName', () => {
  it('returns every well-formed name unchanged', () => {
    for (const s of GOOD) expect(deviceName(s), s).to.equal(s);
  });

  it('rejects malformed names with a TypeError naming where they came from', () => {
    for (const s of BAD) {
      expect(() => deviceName(s, 'ALEXNET_DEVICE'), JSON.stringify(s)).to.throw(TypeError,
        `ALEXNET_DEVICE must be "cpu", "cpu:N", "cuda" or "cuda:N", optionally with a stream "/L" ("cuda:0/1"), got ${JSON.stringify(s)}`);
    }
    expect(() => deviceName('gpu')).to.throw(TypeError, /^device must be .* got "gpu"$/);
  });

  it('rejects values that are not strings (untyped callers)', () => {
    for (const v of [undefined, null, 0, ['cpu'], { toString: () => 'cpu' }])
      expect(() => deviceName(v as unknown as string, 'options.device')).to.throw(TypeError, /^options\.device must be /);
  });

  it('agrees with the native parser on CPU names', () => {
    for (const s of ['cpu', 'cpu:0', 'cpu:1', 'cpu:0/1', 'cpu/1']) expect(() => checkDevice(deviceName(s))).not.to.throw();
    for (const s of BAD) expect(() => checkDevice(s as DeviceName), JSON.stringify(s)).to.throw(TypeError);
  });
});
