/**
 * The remote command line's quoting lives in @vmctx/contract (lib/shell-quote.ts, beside the guest's shQuote);
 * this module names it where the controller's modules have always imported it from.
 */
export { MAX_PIECE, PIECES_TO_ARGV, quoteArg, remoteCommandLine, shellQuote } from '@vmctx/contract';
