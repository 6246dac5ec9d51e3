/**
 * Telling image formats apart by their first bytes.
 *
 * QEMU docs/interop/qcow2.rst, "Header": bytes 0-3 are the magic 'Q' 'F' 'I' 0xfb.
 * Anything without a known magic is raw, as qemu-img's probing decides when no format is given.
 */
export type ImageFormat = 'raw' | 'qcow2';

export const QCOW2_MAGIC = 0x514649fb;

export function detectImageFormat(head: Uint8Array): ImageFormat {
  if (head.length >= 4) {
    const view = new DataView(head.buffer, head.byteOffset, head.byteLength);
    if (view.getUint32(0, false) === QCOW2_MAGIC) return 'qcow2';
  }
  return 'raw';
}
