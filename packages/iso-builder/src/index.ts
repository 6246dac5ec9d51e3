export { DEFAULT_VOLUME_LABEL, MAX_VOLUME_LABEL_LENGTH, validateVolumeLabel, VolumeLabelError } from './lib/volume-label.js';
