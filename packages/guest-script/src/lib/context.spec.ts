import { describe, expect, it } from 'vitest';
import { GuestScriptError } from './errors.js';
import { contentBytes, parseContext, parseContextYaml } from './context.js';

const KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBf0o0 alice@example.org';

function problem(input: unknown): GuestScriptError {
  try {
    parseContext(input, 'ctx.yaml');
  } catch (error) {
    if (error instanceof GuestScriptError) return error;
    throw error;
  }
  throw new Error('expected the context to be refused');
}

describe('context schema', () => {
  it('reads a full static context from YAML and fills the defaults', () => {
    const context = parseContextYaml(
      `hostname: web-1
network:
  method: static
  address: 198.51.100.10/24
  gateway: 198.51.100.1
  nameservers: [198.51.100.2]
  routes:
    - { to: 203.0.113.0/24, via: 198.51.100.254 }
ssh:
  authorizedKeys: ["${KEY}"]
files:
  - { path: /etc/motd, content: "hi\\n" }
  - { path: /root/secret, contentBase64: "c2VjcmV0", mode: "0600" }
scripts:
  - { name: setup, content: "echo hi" }
`,
      'ctx.yaml',
    );
    expect(context.network).toMatchObject({ method: 'static', address: '198.51.100.10/24', search: [], routes: [{ to: '203.0.113.0/24', via: '198.51.100.254' }] });
    expect(context.ssh).toEqual({ user: 'root', authorizedKeys: [KEY] });
    expect(context.files[0]).toMatchObject({ mode: '0644', owner: 'root' });
    expect(contentBytes(context.files[1]!).toString()).toBe('secret');
  });

  it('accepts IP-from-MAC and DHCP networks', () => {
    expect(parseContext({ network: { method: 'ip-from-mac', prefix: 24, macPrefix: '02:00' } }).network).toMatchObject({ hostnamePrefix: 'vm-' });
    expect(parseContext({ network: { method: 'dhcp', mtu: 9000 } }).network).toMatchObject({ method: 'dhcp', mtu: 9000 });
  });

  it.each([
    ['a command in the host name', { hostname: 'web$(reboot)' }, 'hostname'],
    ['a quote in the host name', { hostname: "web'1" }, 'hostname'],
    ['a newline in the host name', { hostname: 'web\n1' }, 'hostname'],
    ['a host name of 254 characters', { hostname: `${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(62)}` }, 'hostname'],
    ['a label of 64 characters', { hostname: 'a'.repeat(64) }, 'hostname'],
    ['a newline in a key', { ssh: { authorizedKeys: [`${KEY}\nssh-rsa AAAA evil`] } }, 'ssh.authorizedKeys[0]'],
    ['a key that is no key', { ssh: { authorizedKeys: ['$(reboot)'] } }, 'ssh.authorizedKeys[0]'],
    ['a key of 20000 characters', { ssh: { authorizedKeys: [`${KEY} ${'x'.repeat(20000)}`] } }, 'ssh.authorizedKeys[0]'],
    ['a path component of 256 characters', { files: [{ path: `/etc/${'a'.repeat(256)}`, content: '' }] }, 'files[0].path'],
    ['a user with a semicolon', { ssh: { user: 'root;reboot', authorizedKeys: [KEY] } }, 'ssh.user'],
    ['a relative file path', { files: [{ path: 'etc/x', content: '' }] }, 'files[0].path'],
    ['.. in a file path', { files: [{ path: '/etc/../root/x', content: '' }] }, 'files[0].path'],
    ['a space in a file path', { files: [{ path: '/etc/my file', content: '' }] }, 'files[0].path'],
    ['$() in a file path', { files: [{ path: '/etc/$(reboot)', content: '' }] }, 'files[0].path'],
    ['a numeric mode', { files: [{ path: '/etc/x', content: '', mode: 600 }] }, 'files[0].mode'],
    ['both contents', { files: [{ path: '/etc/x', content: 'a', contentBase64: 'YQ==' }] }, 'files[0].content'],
    ['no content', { scripts: [{ name: 'x' }] }, 'scripts[0].content'],
    ['a slash in a script name', { scripts: [{ name: '../x', content: '' }] }, 'scripts[0].name'],
    ['an interface name with a quote', { network: { method: 'dhcp', interface: "eth0'" } }, 'network.interface'],
    ['an address without prefix', { network: { method: 'static', address: '198.51.100.10' } }, 'network.address'],
    ['an octet with a leading zero', { network: { method: 'static', address: '198.51.100.010/24' } }, 'network.address'],
    ['a gateway off the network', { network: { method: 'static', address: '198.51.100.10/24', gateway: '203.0.113.1' } }, 'network.gateway'],
    ['a search domain with a space', { network: { method: 'dhcp', search: ['a.org b.org'] } }, 'network.search[0]'],
    ['an unknown key', { hostnme: 'x' }, 'hostnme'],
    ['an unknown method', { network: { method: 'bootp' } }, 'network.method'],
    ['a bad instance id', { instanceId: 'a b' }, 'instanceId'],
    ['the same file twice', { files: [{ path: '/a', content: '' }, { path: '/a', content: '' }] }, 'files[1].path'],
  ])('refuses %s, and says where', (_name, input, path) => {
    const error = problem(input);
    expect(error.code).toBe('GUEST_INVALID_CONTEXT');
    expect(error.path).toBe(path);
    expect(error.message).toMatch(/^ctx\.yaml: invalid context\n✖ /);
  });

  it('tells why an unquoted YAML mode is refused', () => {
    expect(() => parseContextYaml('files:\n  - { path: /etc/x, content: "", mode: 0600 }\n')).toThrow(/quoted string, such as '0600'/);
  });

  it('refuses YAML that does not parse, with the source name', () => {
    expect(() => parseContextYaml('hostname: [unclosed', 'bad.yaml')).toThrow(/^bad\.yaml: not valid YAML/);
    expect(() => parseContextYaml('a: 1\na: 2\n', 'dup.yaml')).toThrow(GuestScriptError);
  });

  it('says an address that is not one once, without a second, wrong complaint about the gateway (issue 24)', () => {
    const issues = (() => {
      try {
        parseContext({ network: { method: 'static', address: '198.51.100.300/24', gateway: '198.51.100.1' } });
      } catch (error) {
        return String((error as Error).message);
      }
      return '';
    })();
    expect(issues).toContain('network.address');
    expect(issues).not.toContain('gateway 198.51.100.1 is not in');
    // A gateway truly outside a valid address's network is still said.
    expect(problem({ network: { method: 'static', address: '198.51.100.30/24', gateway: '203.0.113.1' } }).message).toContain('is not in 198.51.100.0/24');
  });

  it('refuses a route whose destination has host bits set, naming the network (issue 12)', () => {
    const network = (to: string) => ({ network: { method: 'dhcp', routes: [{ to, via: '198.51.100.1' }] } });
    expect(problem(network('10.1.2.3/16'))).toMatchObject({ code: 'GUEST_INVALID_CONTEXT', path: 'network.routes[0].to', message: expect.stringContaining('10.1.2.3/16 has host bits set: the network is 10.1.0.0/16') });
    expect(problem(network('192.0.2.1/0')).message).toContain('the network is 0.0.0.0/0');
    expect(problem(network('203.0.113.129/25')).message).toContain('the network is 203.0.113.128/25');
    for (const to of ['10.1.0.0/16', '203.0.113.7/32', '0.0.0.0/0', 'default']) expect(parseContext(network(to)).network?.routes[0]?.to).toBe(to);
  });

  it('takes an empty file as the empty context (DHCP, nothing else)', () => {
    expect(parseContextYaml('')).toEqual({ files: [], scripts: [] });
  });
});
