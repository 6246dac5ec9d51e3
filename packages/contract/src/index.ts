export {
  catalogueCodes,
  errorCatalogue,
  errorClass,
  ERROR_KINDS,
  EXIT_CODES,
  exitCodeOf,
  isVmctxError,
  VmctxError,
  type ErrorCatalogue,
  type ErrorKind,
} from './lib/errors.js';
export {
  CONTEXT_DISK_ALIAS,
  CONTEXT_FILES,
  CONTEXT_FOLDERS,
  DEFAULT_CONTEXT_LABEL,
  IP_IN_MAC_PREFIX,
  isVolumeLabel,
  MAX_CONTEXT_LABEL_LENGTH,
  NOCLOUD_FILES,
  NOCLOUD_LABEL,
  volumeLabelProblem,
} from './lib/context-cd.js';
export { escapeFileName, nonUtf8Names } from './lib/file-names.js';
export {
  broadcastAddress,
  inSubnet,
  IPV4_PATTERN,
  ipv4ToNumber,
  isIpv4,
  netmaskToPrefix,
  networkAddress,
  networkBounds,
  numberToIpv4,
  prefixToNetmask,
} from './lib/ipv4.js';
export { makeFolder } from './lib/make-folder.js';
export { MAX_PIECE, PIECES_TO_ARGV, quoteArg, remoteCommandLine, shellQuote, shQuote } from './lib/shell-quote.js';
export { removeOnSignal } from './lib/signal-cleanup.js';
