/**
 * What is wrong with a deployment file, collected rather than thrown one at a time: an operator fixing a file
 * wants every problem in one run, each with its line and path, as zod prints its own (`✖ message → at path`).
 */
import { VmctxError, type ErrorKind } from '@vmctx/contract';
import type { z } from 'zod';
import { closestKey } from './did-you-mean.js';

/** A path into the file's data: `['vms', 2, 'controller']`. */
export type Path = readonly (string | number)[];

export interface Problem {
  at: Path;
  message: string;
  /** `CONFIG_INVALID` for what the schema refuses; a more precise code for cross checks and missing files. */
  code: string;
  kind: Extract<ErrorKind, 'input' | 'io'>;
}

/** A problem placed in the file, as the error lists it. */
export interface LocatedProblem extends Omit<Problem, 'at'> {
  /** `vms[2].controller`; empty for the document itself. */
  path: string;
  /** 1-based; absent when the text is not at hand (a problem of a value passed in, not read). */
  line?: number;
}

/** `vms[2].controller` from `['vms', 2, 'controller']`. */
export function formatPath(path: Path): string {
  let out = '';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else out += out === '' ? key : `.${key}`;
  }
  return out;
}

export class Problems {
  readonly list: Problem[] = [];
  add(at: Path, message: string, code = 'CONFIG_INVALID', kind: Problem['kind'] = 'input'): void {
    // A count group repeats its members' problems: say each one once.
    if (this.list.some((p) => p.message === message && formatPath(p.at) === formatPath(at))) return;
    this.list.push({ at, message, code, kind });
  }
  get size(): number {
    return this.list.length;
  }
}

/**
 * zod's issues as problems, with two changes that make them readable in a YAML file: an unknown key is
 * reported at the key itself (so its line is the key's line), and a union (a context given as a path or
 * inline) reports the issues of the alternative the value was meant for rather than "Invalid input".
 */
export function problemsFromZod(issues: readonly z.core.$ZodIssue[], prefix: Path = [], knownKeys?: () => ReadonlySet<string>): Problem[] {
  const out: Problem[] = [];
  for (const issue of issues) {
    const at = [...prefix, ...(issue.path as (string | number)[])];
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) {
        const near = knownKeys ? closestKey(key, knownKeys()) : undefined;
        out.push({ at: [...at, key], message: `unknown key "${key}"${near ? ` (did you mean "${near}"?)` : ''}`, code: 'CONFIG_INVALID', kind: 'input' });
      }
    } else if (issue.code === 'invalid_union' && issue.errors.length > 0) {
      // An alternative whose only complaint is the type of the value itself was not the one meant.
      const meant = issue.errors.filter((branch) => !branch.every((i) => i.code === 'invalid_type' && i.path.length === 0));
      const [only] = meant;
      if (meant.length === 1 && only) out.push(...problemsFromZod(only, at, knownKeys));
      else {
        const expected = issue.errors.flatMap((b) => b.filter((i) => i.code === 'invalid_type' && i.path.length === 0).map((i) => (i as { expected: string }).expected));
        out.push({ at, message: expected.length > 0 ? `expected ${[...new Set(expected)].join(' or ')}` : issue.message, code: 'CONFIG_INVALID', kind: 'input' });
      }
    } else if (issue.code === 'invalid_type' && / received undefined$/.test(issue.message)) {
      out.push({ at, message: 'required', code: 'CONFIG_INVALID', kind: 'input' });
    } else {
      out.push({ at, message: issue.message, code: 'CONFIG_INVALID', kind: 'input' });
    }
  }
  return out;
}

/**
 * One error for every problem of a deployment file; `problems` keeps them apart for programs and tests (and
 * `--json` prints them, each with its code).
 */
export class DeploymentError extends VmctxError {
  constructor(
    readonly problems: LocatedProblem[],
    readonly file: string,
  ) {
    const inputs = problems.filter((p) => p.kind === 'input');
    // Only missing local files: an I/O failure with that file's code (CONFIG_IMAGE_NOT_FOUND...); any input
    // problem makes the whole an input error, since the file must be edited anyway: CONFIG_INVALID, or the one
    // code all its problems share (CONFIG_DUPLICATE_NAME, CONFIG_UNSAFE_TEXT...), so that a program can tell them apart.
    const first = inputs[0] ?? problems[0];
    const shared = inputs.length > 0 && inputs.every((p) => p.code === first!.code) ? first!.code : 'CONFIG_INVALID';
    const code = inputs.length > 0 ? shared : (first?.code ?? 'CONFIG_INVALID');
    const kind: ErrorKind = inputs.length > 0 ? 'input' : 'io';
    // Problems of several codes: each line says its own (the CLI adds the error's code after the last line).
    const mixed = new Set(problems.map((p) => p.code)).size > 1;
    const lines = problems.map((p) => `${file}${p.line === undefined ? '' : `:${p.line}`}: ${p.path === '' ? '' : `${p.path}: `}${p.message}${mixed ? ` [${p.code}]` : ''}`);
    const header = problems.length > 1 ? `${file}: ${problems.length} problems\n` : '';
    super(code, kind, header + lines.join('\n'), { where: problems[0]?.path });
  }

  override toJSON(): ReturnType<VmctxError['toJSON']> & { problems: LocatedProblem[] } {
    return { ...super.toJSON(), problems: this.problems };
  }
}
