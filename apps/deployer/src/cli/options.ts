/** Options and option parsers that several commands take, written once. */
import { DEFAULT_CONTEXT_LABEL, volumeLabelProblem } from '@vmctx/contract';
import { InvalidArgumentError, Option } from 'commander';

/**
 * A parser of a whole number from `min` to `max` (commander reports its message as a usage error that names the
 * option, exit 2: `option '--timeout <seconds>' argument '0' is invalid. expected ...`).
 */
export function wholeNumber(expected: string, { min = 0, max = Number.MAX_SAFE_INTEGER }: { min?: number; max?: number } = {}): (text: string) => number {
  return (text) => {
    if (!/^[0-9]+$/.test(text)) throw new InvalidArgumentError(expected);
    const value = Number(text);
    if (value < min || value > max) throw new InvalidArgumentError(expected);
    return value;
  };
}

/**
 * The last second every date of an ISO 9660 image can hold, 2155-12-31T23:59:59Z: the directory records' 7-byte
 * dates (ECMA-119 9.1.5) count years 1900 to 2155, the volume descriptor's 17-byte ones (8.4.26.1) 1 to 9999.
 * iso-builder's MAX_ISO_EPOCH, which refuses the same (a test checks that they agree): written here so that the
 * option parser does not load iso-builder.
 */
export const MAX_EPOCH_SECONDS = Date.UTC(2155, 11, 31, 23, 59, 59) / 1000;

/** --epoch: seconds since 1970 that ISO 9660 dates can hold, one parser for every command that dates an image. */
export const epochSeconds = wholeNumber(
  `expected seconds since 1970 from 0 to ${MAX_EPOCH_SECONDS} (2155-12-31T23:59:59Z, the last date ISO 9660 directory records hold, ECMA-119 9.1.5)`,
  { max: MAX_EPOCH_SECONDS },
);

export function epochOption(): Option {
  return new Option('--epoch <seconds>', 'one date for everything in the image, for reproducible bytes (default SOURCE_DATE_EPOCH)').argParser(epochSeconds);
}

/** A volume label by the context CD contract's one rule (@vmctx/contract), refused as a usage error naming the option. */
export function volumeLabel(text: string): string {
  const problem = volumeLabelProblem(text);
  if (problem !== undefined) throw new InvalidArgumentError(problem);
  return text;
}

/**
 * The context CD's volume label, defaulting to the contract's, checked by the contract's rule when parsed: the same
 * rule and the same message in `context iso --label`, `guest script --label` and `iso -V`.
 */
export function labelOption(flags: string, description: string): Option {
  return new Option(flags, description).default(DEFAULT_CONTEXT_LABEL).argParser(volumeLabel);
}
