/**
 * Volume identifiers for the Primary Volume Descriptor.
 *
 * ECMA-119 8.4.6: the Volume Identifier is 32 bytes of d-characters (A-Z, 0-9, _), padded with spaces.
 * genisoimage and the Linux kernel accept a-characters and lower case too, and cloud-init's NoCloud seed needs
 * the lower-case label `cidata`. The rule is the context CD's, in @vmctx/contract, shared with the guest script
 * that looks the CD up by its label: letters, digits, `_`, `-` and `.`, at most 32 bytes, case kept.
 */
import { DEFAULT_CONTEXT_LABEL, MAX_CONTEXT_LABEL_LENGTH, volumeLabelProblem } from '@vmctx/contract';
import { IsoBuilderError } from './errors.js';

export const DEFAULT_VOLUME_LABEL = DEFAULT_CONTEXT_LABEL;
export const MAX_VOLUME_LABEL_LENGTH = MAX_CONTEXT_LABEL_LENGTH;

/** Returns the label when it is valid, or throws an ISO_BAD_LABEL error that says what is wrong. */
export function validateVolumeLabel(label: string): string {
  const problem = volumeLabelProblem(label);
  if (problem !== undefined) throw new IsoBuilderError('ISO_BAD_LABEL', problem, { where: 'label' });
  return label;
}
