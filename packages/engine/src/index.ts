export * from './backend.js';
export * from './gradients.js';
export * from './losses.js';
export * from './pool.js';
export * from './layers.js';
export * from './model.js';
export * from './hessian.js';
export * from './data/index.js';
export { describeWebgpu, webgpuDeviceInfo, type WebgpuDeviceInfo } from './webgpu.js';
