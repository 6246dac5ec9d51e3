import { CONTEXT_FILES, DEFAULT_CONTEXT_LABEL, IP_IN_MAC_PREFIX, isVolumeLabel } from '@vmctx/contract';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { buildContextTree } from './context-tree.js';
import { parseContext } from './context.js';
import { DEFAULT_LABEL, resolveGuestScriptOptions } from './guest-script.js';
import { DEFAULT_MAC_PREFIX } from './network-file.js';

/** What the guest script takes as its --label, by its own check. */
function guestAccepts(label: string): boolean {
  try {
    resolveGuestScriptOptions({ label });
    return true;
  } catch {
    return false;
  }
}

describe('the guest side of the context CD contract', () => {
  it('has the contract default label and IP-in-MAC prefix', () => {
    expect(DEFAULT_LABEL).toBe(DEFAULT_CONTEXT_LABEL);
    expect(DEFAULT_MAC_PREFIX).toBe(IP_IN_MAC_PREFIX);
  });

  it("accepts exactly the labels of the contract's rule", () => {
    const characters = fc.constantFrom(...'AZaz09_.- /\'"$é\t'.split(''));
    fc.assert(
      fc.property(fc.oneof(fc.string({ unit: characters, maxLength: 34 }), fc.string({ maxLength: 34 })), (label) => {
        expect(guestAccepts(label)).toBe(isVolumeLabel(label));
      }),
      { numRuns: 500 },
    );
    for (const label of ['CONTEXT', 'cidata', 'A'.repeat(32), 'A'.repeat(33), 'MY CD', '']) expect(guestAccepts(label)).toBe(isVolumeLabel(label));
  });

  it('writes the files the contract names', () => {
    const tree = buildContextTree(parseContext({ instanceId: 'i-1', ssh: { authorizedKeys: ['ssh-ed25519 AAAA x'] } }));
    expect(Object.keys(tree).sort()).toEqual(Object.values(CONTEXT_FILES).sort());
  });
});
