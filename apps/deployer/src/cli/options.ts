/** Options and option parsers that several commands take, written once. */
import { DEFAULT_CONTEXT_LABEL } from '@vmctx/contract';
import { InvalidArgumentError, Option } from 'commander';

/** A parser of a whole number (commander reports its message as a usage error: exit 2). */
export function wholeNumber(expected: string): (text: string) => number {
  return (text) => {
    if (!/^[0-9]+$/.test(text)) throw new InvalidArgumentError(expected);
    return Number(text);
  };
}

/** --epoch: seconds since 1970, one parser for every command that dates an image. */
export const epochSeconds = wholeNumber('expected seconds since 1970');

export function epochOption(): Option {
  return new Option('--epoch <seconds>', 'one date for everything in the image, for reproducible bytes (default SOURCE_DATE_EPOCH)').argParser(epochSeconds);
}

/** The context CD's volume label, defaulting to the contract's. */
export function labelOption(flags: string, description: string): Option {
  return new Option(flags, description).default(DEFAULT_CONTEXT_LABEL);
}
