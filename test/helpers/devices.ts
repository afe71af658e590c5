// Which devices the suites run on: $ALEXNET_TEST_DEVICE alone when set (so `npm run test:gpu`
// fails, not skips, without a GPU), else the CPU and every CUDA device found.
import { availableDevices, deviceName, type DeviceName } from '../../lib/index.js';

export function testDevices(): DeviceName[] {
  const only = process.env.ALEXNET_TEST_DEVICE;
  if (only) return [deviceName(only, 'ALEXNET_TEST_DEVICE')];
  return ['cpu', ...availableDevices().filter((d) => d.startsWith('cuda'))];
}
