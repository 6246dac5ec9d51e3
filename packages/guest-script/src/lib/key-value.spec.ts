import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { formatKeyValue, parseKeyValue } from './key-value.js';

describe('key-value files', () => {
  it("reads Snooze's common/network as it ships", () => {
    const snooze = 'GATEWAY=192.168.122.1\nNETWORK=192.168.122.0\nNETMASK=255.255.255.0\nDOMAIN=\nSEARCH=\n';
    expect(parseKeyValue(snooze)).toEqual({
      GATEWAY: '192.168.122.1',
      NETWORK: '192.168.122.0',
      NETMASK: '255.255.255.0',
      DOMAIN: '',
      SEARCH: '',
    });
  });

  it('round-trips hostile values', () => {
    const values = { A: "it's", B: '$(touch /tmp/pwned) `id`', C: '' };
    expect(parseKeyValue(formatKeyValue(values))).toEqual(values);
  });

  it('is read back unchanged by sh', () => {
    const values = { HOST: "a'b $(echo no) \\ \"q\"" };
    const printed = execFileSync('sh', ['-c', `${formatKeyValue(values)}printf %s "$HOST"`], { encoding: 'utf8' });
    expect(printed).toBe(values.HOST);
  });

  it('says where a bad line is', () => {
    expect(() => parseKeyValue('A=1\nnot a pair\n', 'common/network')).toThrow(/common\/network:2/);
    expect(() => formatKeyValue({ 'BAD-KEY': 'x' })).toThrow(/shell variable/);
    expect(() => formatKeyValue({ A: 'x\ny' })).toThrow(/newline/);
  });
});
