import { describe, expect, it } from 'vitest';
import { detectImageFormat } from './image-format.js';

describe('detectImageFormat', () => {
  it('sees the qcow2 magic', () => {
    expect(detectImageFormat(Uint8Array.from([0x51, 0x46, 0x49, 0xfb, 0, 0, 0, 3]))).toBe('qcow2');
  });
  it('calls anything else raw, short heads included', () => {
    expect(detectImageFormat(Uint8Array.from([0x51, 0x46, 0x49, 0xfa]))).toBe('raw');
    expect(detectImageFormat(new Uint8Array(0))).toBe('raw');
    expect(detectImageFormat(Buffer.from('QFI'))).toBe('raw');
  });
});
