import { mkdtemp, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import * as yaml from 'yaml';
import { parseContextYaml } from './context.js';
import { MAX_CONTENT_BYTES, MAX_CONTEXT_BYTES } from './context-limits.js';
import { contentSizeProblem, readContextText } from './context-size.js';
import { readContextSource } from './context-source.js';

vi.mock('yaml', async (original) => {
  const real = await original<typeof import('yaml')>();
  return { ...real, parse: vi.fn(real.parse) };
});

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'gs-size-'));
  vi.mocked(yaml.parse).mockClear();
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const over = MAX_CONTENT_BYTES + 1;
const file = (content: string) => `files:\n  - path: /etc/big\n    ${content}\n`;

describe('sizes checked before parsing', () => {
  it.each([
    ['a plain content', file(`content: ${'a'.repeat(over)}`), 'files[0].content'],
    ['a double-quoted content', file(`content: "${'a'.repeat(over)}"`), 'files[0].content'],
    ['a block content', file(`content: |\n${`      ${'a'.repeat(63)}\n`.repeat(Math.ceil(over / 63))}`), 'files[0].content'],
    ['a base64 content', file(`contentBase64: ${Buffer.alloc(over).toString('base64')}`), 'files[0].contentBase64'],
    ['a JSON script', JSON.stringify({ scripts: [{ name: 'x', content: 'b'.repeat(over) }] }), 'scripts[0].content'],
  ])('refuses %s over MAX_CONTENT_BYTES without parsing it, naming the file, the value and the limit', (_what, text, path) => {
    expect(() => parseContextYaml(text, 'big.yaml')).toThrow(
      expect.objectContaining({ code: 'GUEST_INVALID_CONTEXT', path, message: expect.stringMatching(new RegExp(`^big\\.yaml: ${path.replace(/[[\].]/g, '\\$&')} is at least \\d+ bytes, more than .*16777216 bytes`)) }),
    );
    expect(yaml.parse).not.toHaveBeenCalled();
  });

  it('takes what the schema takes: a content at the limit, as text or as base64 with line breaks and escapes', () => {
    expect(contentSizeProblem(file(`content: "${'\\x41'.repeat(MAX_CONTENT_BYTES / 4)}"`))).toBeUndefined();
    const base64 = Buffer.alloc(MAX_CONTENT_BYTES).toString('base64').replace(/.{76}/g, '$&\n        ');
    const atLimit = file(`contentBase64: |\n        ${base64}`);
    expect(Buffer.byteLength(atLimit)).toBeLessThan(MAX_CONTEXT_BYTES);
    expect(contentSizeProblem(atLimit)).toBeUndefined();
    expect(parseContextYaml(atLimit).files[0]?.contentBase64).toBeDefined();
  });

  it('refuses a context file over MAX_CONTEXT_BYTES by its size, before reading it', async () => {
    const path = join(dir, 'huge.yaml');
    await writeFile(path, '');
    await truncate(path, 3 * 2 ** 30); // sparse: reading it would take 3 GiB
    const message = new RegExp(`^${path.replace(/[.]/g, '\\.')}: 3221225472 bytes, more than a context may have \\(${MAX_CONTEXT_BYTES} bytes, 32 MiB`);
    await expect(readContextText(path)).rejects.toMatchObject({ code: 'GUEST_INVALID_CONTEXT', message: expect.stringMatching(message) });
    await expect(readContextSource(path)).rejects.toMatchObject({ code: 'GUEST_INVALID_CONTEXT', message: expect.stringMatching(message) });
    expect(() => parseContextYaml(`# ${'x'.repeat(MAX_CONTEXT_BYTES)}\n`, 'long.yaml')).toThrow(expect.objectContaining({ message: expect.stringContaining('long.yaml: 33554435 bytes') }));
    expect(yaml.parse).not.toHaveBeenCalled();
  });

  it('skips the scan of a text of up to a third of the limit: no value in it can be over the limit', () => {
    // The escapes that grow most: \L and \P (2 characters) are 3 bytes of UTF-8; a text a third of the limit long
    // made of them holds half the limit.
    const escapes = file(`content: "${'\\L'.repeat(Math.floor(MAX_CONTENT_BYTES / 3 / 2) - 40)}"`);
    expect(3 * escapes.length).toBeLessThanOrEqual(MAX_CONTENT_BYTES);
    expect(contentSizeProblem(escapes)).toBeUndefined();
    expect(Buffer.byteLength(parseContextYaml(escapes).files[0]!.content!)).toBeLessThan(MAX_CONTENT_BYTES);
  });

  it('leaves what it cannot read to the parser', () => {
    expect(contentSizeProblem('files: [ {content: "x" ')).toBeUndefined();
    expect(() => parseContextYaml('files: [ {content: "x" ', 'bad.yaml')).toThrow(expect.objectContaining({ message: expect.stringContaining('not valid YAML') }));
  });
});
