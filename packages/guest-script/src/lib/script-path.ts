/** Where the installer puts the contextualization script in the image (installer.ts, reapply-units.ts). */
export const SCRIPT_PATH = '/usr/local/bin/contextualization';
