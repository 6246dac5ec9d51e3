export { ERROR_KINDS, EXIT_CODES, exitCodeOf, isVmctxError, VmctxError, type ErrorKind } from './lib/errors.js';
