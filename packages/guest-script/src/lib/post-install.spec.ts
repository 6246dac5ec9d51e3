import { describe, expect, it } from 'vitest';
import { NETWORK_KEYS, postInstallScript } from './post-install.js';

describe('post-install', () => {
  it('is one text for every context: values come from the data files beside it', () => {
    expect(postInstallScript()).toBe(postInstallScript());
    expect(postInstallScript().startsWith('#!/bin/sh\n')).toBe(true);
  });

  it('clears every key before reading common/network, so nothing leaks in from the environment', () => {
    const script = postInstallScript();
    for (const key of NETWORK_KEYS) expect(script).toMatch(new RegExp(`^${key}=$`, 'm'));
    expect(script.indexOf('read_values "$ctx/common/network"')).toBeGreaterThan(script.indexOf('INSTANCE_ID=\n'));
  });

  it("reads Snooze's keys", () => {
    for (const key of ['GATEWAY', 'NETWORK', 'BROADCAST', 'NETMASK', 'NAMESERVER', 'DOMAIN', 'SEARCH']) expect(NETWORK_KEYS).toContain(key);
  });
});
