export { detectImageFormat, QCOW2_MAGIC, type ImageFormat } from './lib/image-format.js';
