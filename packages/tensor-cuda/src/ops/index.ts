// One line per op family (same basename as native/cpu/<family>.cc and test/ops/<family>.test.ts).
export * from './elementwise.js';
export * from './views.js';
export * from './matmul.js';
export * from './attention.js';
export * from './embedding.js';
export * from './layernorm.js';
export * from './rope.js';
export * from './swiglu.js';
export * from './clamp.js';
export * from './reduce.js';
export * from './concat.js';
export * from './crossentropy.js';
export * from './adamw.js';
export * from './gradclip.js';
export * from './linearcrossentropy.js';
