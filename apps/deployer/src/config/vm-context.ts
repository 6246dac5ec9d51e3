/**
 * A VM's `context:` / `iso:` as one VmContext. A context file is read once however many VMs name it, and its
 * own problems are reported with its own line numbers (`ctx.yaml:4: network.address: ...`).
 */
import { readFile, stat } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { checkContextText, ContextSchema, MAX_CONTEXT_BYTES, type Context } from '@vmctx/guest-script';
import type { VmContext } from './types.js';
import type { VmDraft } from './expand.js';
import { readYaml } from './locate.js';
import type { ResolveContext } from './options.js';
import { pathKind, resolveLocal } from './paths.js';
import { formatPath, problemsFromZod } from './problems.js';

const CONTEXT_FILE_EXTENSIONS = ['.yaml', '.yml', '.json'];

/** Per load: a context file's result, shared by every VM that names it (and so by their ISO). */
export type ContextCache = Map<string, Promise<VmContext | string[]>>;

export async function resolveVmContext(draft: VmDraft, ctx: ResolveContext, cache: ContextCache): Promise<VmContext | undefined> {
  const { context, iso } = draft.fields;
  if (iso !== undefined) return { kind: 'remote-iso', path: iso };
  if (context === undefined) return { kind: 'none' };
  const at = draft.origin.context!;
  if (typeof context !== 'string') {
    // Checked by the file's schema already, at its own place (vms[i].context or defaults.context).
    return { kind: 'context', context, source: `${ctx.file}:${formatPath(at)}` };
  }
  const path = resolveLocal(context, ctx.baseDir, ctx.homeDir);
  let pending = cache.get(path);
  if (pending === undefined) {
    pending = readContextPath(path);
    cache.set(path, pending);
  }
  const result = await pending;
  if (Array.isArray(result)) {
    for (const message of result) ctx.problems.add(at, message, message.startsWith('no ') ? 'CONFIG_CONTEXT_NOT_FOUND' : 'CONFIG_INVALID', message.startsWith('no ') ? 'io' : 'input');
    return undefined;
  }
  return result;
}

/** The context at `path`, or the problems with it. */
async function readContextPath(path: string): Promise<VmContext | string[]> {
  const kind = await pathKind(path);
  if (kind === 'missing') return [`no context file or folder at ${path}`];
  if (kind === 'folder') {
    // A Snooze context/ folder goes on the CD as it is; without post-install the guest would only do DHCP.
    if ((await pathKind(join(path, 'post-install'))) !== 'file') return [`${path} is a folder without post-install: not a context/ folder`];
    return { kind: 'folder', path };
  }
  if (kind !== 'file' || !CONTEXT_FILE_EXTENSIONS.includes(extname(path).toLowerCase())) {
    return [`${path} is neither a context file (${CONTEXT_FILE_EXTENSIONS.join(', ')}) nor a context/ folder holding post-install`];
  }
  let text: string;
  try {
    // Guest-script's limits, checked before the file is read (its size) and before it is parsed (its contents).
    const { size } = await stat(path);
    if (size > MAX_CONTEXT_BYTES) return [`context file ${path}: ${size} bytes, more than a context may have (${MAX_CONTEXT_BYTES} bytes); refused before reading it`];
    text = await readFile(path, 'utf8');
  } catch (error) {
    return [`no readable context file at ${path}: ${(error as Error).message}`];
  }
  try {
    checkContextText(text, path);
  } catch (error) {
    return [`context file ${(error as Error).message}`];
  }
  // The same schema as guest-script's parseContextYaml, read here through the line-keeping reader so that each
  // problem names its line in the context file.
  const source = readYaml(text);
  if (!source.ok) return source.problems.map((p) => `context file ${path}:${p.line ?? 1}: ${p.message}`);
  const parsed = ContextSchema.safeParse(source.value ?? {});
  if (!parsed.success) {
    return problemsFromZod(parsed.error.issues).map((p) => `context file ${path}:${source.lineOf(p.at) ?? 1}: ${formatPath(p.at)}: ${p.message}`);
  }
  return { kind: 'context', context: parsed.data satisfies Context, source: path };
}
