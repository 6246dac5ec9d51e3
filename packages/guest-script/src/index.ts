export { formatKeyValue, parseKeyValue } from './lib/key-value.js';
