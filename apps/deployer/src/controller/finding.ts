/** What preflight (and the checks it asks of other modules, such as upload-tools.ts) finds on a controller: one line of `vmctx check`. */
export type FindingCode =
  | 'CHECK_SSH'
  | 'CHECK_LIBVIRT'
  | 'CHECK_DOMAIN_TYPE'
  | 'CHECK_BRIDGE'
  | 'CHECK_NETWORK'
  | 'CHECK_IMAGE_DIR'
  | 'CHECK_SPACE'
  | 'CHECK_ISO'
  | 'CHECK_NAME_HELD'
  | 'CHECK_UUID_HELD'
  | 'CHECK_MAC_HELD'
  | 'CHECK_FILE_HELD'
  | 'CHECK_UPLOAD_TOOLS';

export interface Finding {
  controller: string;
  /** What was checked: `bridge virbr0`, `domain web-1`, `/var/lib/vmctx/images`. */
  object: string;
  code: FindingCode;
  severity: 'ok' | 'warning' | 'error';
  message: string;
  fix?: string;
  /** The file a CHECK_FILE_HELD finding is about. */
  file?: string;
}
