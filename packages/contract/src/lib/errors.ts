/**
 * The one error model of vmctx. Every error a package or the deployer throws on purpose is a `VmctxError`:
 * - `code`: stable, prefixed by its package (`ISO_`, `DISK_`, `TEMPLATE_`, `GUEST_`, `CONFIG_`, `SSH_`,
 *   `REMOTE_`, `DEPLOY_`), for programs and for the README's table;
 * - `kind`: what sort of fault it is, which is all the CLI needs to pick an exit code (one place:
 *   `exitCodeOf`);
 * - `where`: the place it happened, in the user's terms (`vms[2].controller`, `lc1`, `/domain/devices/disk[2]`,
 *   a file path), when there is one;
 * - the message says what is wrong, where, and (for remote work) what state was left.
 */
export type ErrorKind =
  /** The user's input is wrong (a file, a flag, a value): fix the input. */
  | 'input'
  /** Reading or writing a local file failed (missing, unreadable, disk full). */
  | 'io'
  /** A controller failed or refused: SSH, libvirt, a remote command. */
  | 'remote'
  /** What exists conflicts with what is asked (a name held by a foreign domain, an output that exists). */
  | 'conflict'
  /** A bug of vmctx: an invariant broke. */
  | 'internal';

export const ERROR_KINDS: readonly ErrorKind[] = ['input', 'io', 'remote', 'conflict', 'internal'];

/**
 * A package's error codes and the kind of each: the one list its error class reads the kind from, and the
 * one a reader (the deployer's README table and its test) enumerates.
 */
export type ErrorCatalogue<Code extends string> = Readonly<Record<Code, ErrorKind>>;

type CodesOf<ByKind> = { [Kind in keyof ByKind]: ByKind[Kind] extends readonly (infer Code extends string)[] ? Code : never }[keyof ByKind];

/** A catalogue from the codes of each kind: `errorCatalogue({ input: ['DISK_SIZE_ZERO'], io: ['DISK_READ_FAILED'] })`. */
export function errorCatalogue<const ByKind extends { readonly [Kind in ErrorKind]?: readonly string[] }>(byKind: ByKind): ErrorCatalogue<CodesOf<ByKind>> {
  const catalogue: Record<string, ErrorKind> = {};
  for (const kind of ERROR_KINDS) for (const code of byKind[kind] ?? []) catalogue[code] = kind;
  return Object.freeze(catalogue) as ErrorCatalogue<CodesOf<ByKind>>;
}

/** The codes of a catalogue, as the readonly array a package exports (`DISK_ERROR_CODES`). */
export function catalogueCodes<Code extends string>(catalogue: ErrorCatalogue<Code>): readonly Code[] {
  return Object.freeze(Object.keys(catalogue) as Code[]);
}

export class VmctxError<Code extends string = string> extends Error {
  override name = 'VmctxError';
  constructor(
    readonly code: Code,
    readonly kind: ErrorKind,
    message: string,
    options: { where?: string; cause?: unknown } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.where = options.where;
  }
  readonly where: string | undefined;

  /** What `--json` output carries of an error (an Error's message is not an own enumerable property). */
  toJSON(): { code: string; kind: ErrorKind; message: string; where?: string } {
    return { code: this.code, kind: this.kind, message: this.message, ...(this.where === undefined ? {} : { where: this.where }) };
  }
}

export function isVmctxError(error: unknown): error is VmctxError {
  return error instanceof VmctxError || (error instanceof Error && typeof (error as { code?: unknown }).code === 'string' && ERROR_KINDS.includes((error as { kind?: ErrorKind }).kind as ErrorKind));
}

/**
 * Exit codes of every vmctx command, from an error's kind. 0 is success; 2 is bad usage or input (as
 * commander and most Unix tools use it); 1 is any other failure; 3 a conflict with what already exists; 70
 * (EX_SOFTWARE, sysexits.h) a bug.
 */
export const EXIT_CODES: Readonly<Record<ErrorKind, number>> = { input: 2, io: 1, remote: 1, conflict: 3, internal: 70 };

export function exitCodeOf(error: unknown): number {
  if (isVmctxError(error)) return EXIT_CODES[error.kind];
  // Node's own system errors (ENOENT, EACCES...) reaching the top are local I/O failures.
  const code = (error as { code?: unknown } | undefined)?.code;
  if (typeof code === 'string' && /^E[A-Z]+$/.test(code)) return EXIT_CODES.io;
  return 1;
}

/**
 * The error class of a package: a VmctxError whose kind is its code's in the catalogue, and whose third argument
 * is where it happened (a path) or `{ where, cause }`. `class DiskBuilderError extends errorClass(...) {}`.
 */
export function errorClass<Code extends string>(name: string, catalogue: ErrorCatalogue<Code>) {
  return class extends VmctxError<Code> {
    override name = name;
    constructor(code: Code, message: string, where?: string | { where?: string | undefined; cause?: unknown }) {
      super(code, catalogue[code], message, typeof where === 'string' ? { where } : (where ?? {}));
    }
  };
}
