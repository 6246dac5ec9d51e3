/**
 * Volume identifiers for the Primary Volume Descriptor.
 *
 * ECMA-119 8.4.6: the Volume Identifier is 32 bytes of d-characters (A-Z, 0-9, _), padded with spaces.
 * genisoimage and the Linux kernel accept a-characters and lower case too, and cloud-init's NoCloud
 * seed needs the lower-case label `cidata`, so we accept the characters those tools accept and keep
 * the case: letters, digits, `_`, `-`, `.` and space, at most 32 bytes.
 */
export const DEFAULT_VOLUME_LABEL = 'CONTEXT';
export const MAX_VOLUME_LABEL_LENGTH = 32;

const LABEL_CHARACTERS = /^[A-Za-z0-9_.\- ]*$/;

export class VolumeLabelError extends Error {
  readonly code = 'ISO_BAD_LABEL';
  constructor(message: string) {
    super(message);
    this.name = 'VolumeLabelError';
  }
}

/** Returns the label when it is valid, or throws a VolumeLabelError that says what is wrong. */
export function validateVolumeLabel(label: string): string {
  if (label.length === 0) throw new VolumeLabelError('volume label is empty');
  if (Buffer.byteLength(label, 'latin1') > MAX_VOLUME_LABEL_LENGTH || label.length > MAX_VOLUME_LABEL_LENGTH) {
    throw new VolumeLabelError(
      `volume label "${label}" is ${label.length} characters long; ECMA-119 8.4.6 allows at most ${MAX_VOLUME_LABEL_LENGTH}`,
    );
  }
  if (!LABEL_CHARACTERS.test(label)) {
    const bad = [...label].find((c) => !LABEL_CHARACTERS.test(c)) ?? '';
    throw new VolumeLabelError(
      `volume label "${label}" contains ${JSON.stringify(bad)}; use letters, digits, "_", "-", "." or space`,
    );
  }
  if (label.startsWith(' ') || label.endsWith(' ')) {
    throw new VolumeLabelError(`volume label "${label}" starts or ends with a space, which readers strip`);
  }
  return label;
}
