import { describe, expect, it } from 'vitest';
import { APPLICATION_ID } from '../build.js';
import { fileMapTree } from '../file-map.js';
import { computeLayout, type LayoutOptions } from '../layout.js';
import { placeTree } from './place.js';
import { renderMetadata } from './render.js';
import { walkTree } from './walk.js';

/** Freezes every object reachable from `value` (Buffers, whose bytes cannot be frozen, and Maps stay as they are). */
function deepFreeze<T>(value: T, seen = new Set<unknown>()): T {
  if (value === null || typeof value !== 'object' || seen.has(value) || Buffer.isBuffer(value)) return value;
  seen.add(value);
  const children = value instanceof Map ? [...value.keys(), ...value.values()] : Object.values(value);
  for (const child of children) deepFreeze(child, seen);
  if (!(value instanceof Map)) Object.freeze(value);
  return value;
}

describe('the layout phases hand each other values they do not change', () => {
  const tree = fileMapTree(
    {
      'a/b/c/deep.txt': 'deep',
      'a/b/sibling': { data: '#!/bin/sh\n', mode: 0o755 },
      [`long-${'é'.repeat(100)}`]: 'needs a continuation area',
      'link': { symlink: `../${'x'.repeat(300)}` },
      'A Long Mixed-Case Name.with.dots.conf': 'x',
      'A Long Mixed-Case Name.with.dots.cfg': 'y',
      'empty-dir': { directory: true },
      'empty-file': '',
    },
    1_700_000_000,
  );
  const options: LayoutOptions = { label: 'CONTEXT', policy: { epoch: null, ownership: 'rationalize' }, volumeDate: 1_700_000_000, deepDirectories: 'error', applicationId: APPLICATION_ID };

  it('places a frozen walk and renders a frozen placement, to the bytes computeLayout gives', () => {
    // Modules are strict: a phase that wrote into what the one before gave would throw here.
    const walked = deepFreeze(walkTree(tree, options));
    const placement = deepFreeze(placeTree(walked, options));
    const metadata = renderMetadata(placement);
    const layout = computeLayout(tree, options);
    expect(metadata.equals(layout.metadata)).toBe(true);
    expect(placement.volumes).toEqual(layout.volumes);
    expect(placement.totalSectors).toBe(layout.totalSectors);
    expect(renderMetadata(placement).equals(metadata)).toBe(true);
  });
});
