import { expect } from 'chai';
import { AlexNetError, checkDevice, cudaInfo } from '../lib/index.js';
import { testDevices } from './helpers/devices.js';

describe('setup', () => {
  it('loads the addon and reports CUDA status', () => {
    const info = cudaInfo();
    expect(info.status).to.match(/^(available|unavailable): /);
    expect(info.count).to.equal(info.devices.length);
  });

  for (const device of testDevices()) {
    it(`can use the test device ${device}`, () => {
      // With ALEXNET_TEST_DEVICE=cuda on a machine without a GPU this throws: the GPU run fails.
      expect(checkDevice(device)).to.match(/^(cpu|cuda):\d+$/);
    });
  }

  it('asking for cuda without a usable GPU throws CUDA_UNAVAILABLE naming what was searched', function () {
    if (cudaInfo().count > 0) this.skip(); // only meaningful where CUDA is unavailable (as in CI)
    try {
      checkDevice('cuda:0');
      expect.fail('checkDevice(cuda:0) should throw');
    } catch (e) {
      expect(e).to.be.instanceOf(AlexNetError);
      const err = e as AlexNetError;
      expect(err.code).to.equal('CUDA_UNAVAILABLE');
      expect(err.message).to.match(/libalexnet_cuda\.so|libcudnn|CUDA runtime|no CUDA device/);
      expect(err.hint).to.match(/nvidia-cudnn-cu13/);
    }
  });

  it('rejects malformed device names with a TypeError naming the device', () => {
    // @ts-expect-error a wrong name does not compile; untyped callers get the TypeError
    expect(() => checkDevice('gpu')).to.throw(TypeError, /device must be .*"gpu"/);
    // @ts-expect-error a wrong name does not compile; untyped callers get the TypeError
    expect(() => checkDevice('cpu:x')).to.throw(TypeError, /cpu:x/);
  });
});
