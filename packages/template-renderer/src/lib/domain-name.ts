/**
 * Libvirt domain names.
 *
 * libvirt refuses a name that is empty, contains '/' (it becomes a file name under /etc/libvirt/qemu),
 * or is made only of digits (virsh would take it for a domain id). We also refuse control characters and
 * leading/trailing space, which virsh commands cannot round-trip, and keep names under 64 bytes so the
 * derived file names (overlay, serial log) stay short.
 */
export const MAX_DOMAIN_NAME_BYTES = 64;

export function domainNameProblem(name: string): string | undefined {
  if (name.length === 0) return 'a domain name cannot be empty';
  if (name.includes('/')) return `domain name "${name}" contains "/", which libvirt refuses`;
  if (/^[0-9]+$/.test(name)) return `domain name "${name}" is all digits, which virsh mistakes for a domain id`;
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(name)) return `domain name ${JSON.stringify(name)} contains a control character`;
  if (name.trim() !== name) return `domain name "${name}" starts or ends with white space`;
  if (Buffer.byteLength(name, 'utf8') > MAX_DOMAIN_NAME_BYTES) {
    return `domain name "${name}" is longer than ${MAX_DOMAIN_NAME_BYTES} bytes`;
  }
  return undefined;
}
