// The AMQP 0-9-1 codec: pure functions over Buffers, no sockets or I/O.
export * from './content.js';
export * from './errors.js';
export * from './field-table.js';
export * from './frames.js';
export * from './methods.js';
export * from './properties.js';
export * from './spec.js';
export { Writer } from './writer.js';
