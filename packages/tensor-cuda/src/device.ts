import { DeviceError, ArgumentError } from './errors.js';
import { native } from './native.js';

/** 'cpu' or 'cuda:N'. Plain 'cuda' means 'cuda:0'. */
export type Device = 'cpu' | `cuda:${number}` | 'cuda';

/** Native device index: -1 for CPU, N for cuda:N. */
export function deviceIndex(device: Device | string): number {
  if (device === 'cpu') return -1;
  if (device === 'cuda') return 0;
  const m = /^cuda:(\d+)$/.exec(device);
  if (!m) throw new ArgumentError(`unknown device '${device}'`, "use 'cpu' or 'cuda:N'");
  return Number(m[1]);
}

export function deviceName(index: number): Device {
  return index < 0 ? 'cpu' : (`cuda:${index}` as Device);
}

/** Number of visible CUDA devices (0 without a GPU, a driver, or a CUDA build). */
export function cudaDeviceCount(): number {
  const info = native().buildInfo();
  return info.cudaCompiled ? info.cudaDevices : 0;
}

export function cudaAvailable(): boolean {
  return cudaDeviceCount() > 0;
}

/** Throws CUDA_UNAVAILABLE with a hint when `device` is a CUDA device that cannot be used. */
export function assertDeviceUsable(device: Device | string): number {
  const idx = deviceIndex(device);
  if (idx < 0) return idx;
  const info = native().buildInfo();
  if (!info.cudaCompiled) {
    throw new DeviceError('CUDA_UNAVAILABLE', `${device}: the addon was built without CUDA`, 'rebuild with nvcc on PATH, or use device "cpu"');
  }
  if (idx >= info.cudaDevices) {
    throw new DeviceError('CUDA_UNAVAILABLE', `${device}: ${info.cudaDevices} CUDA device(s) visible`,
      info.cudaDevices === 0 ? 'no NVIDIA GPU/driver on this machine; use device "cpu"' : 'use a lower device index');
  }
  return idx;
}
