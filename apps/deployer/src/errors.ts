/**
 * The deployer's error codes with their kinds, in one catalogue (the packages each have theirs): the README's
 * table lists them, and DeployerError takes a code of it and gives it its kind, so that the compiler refuses a code
 * that is not here (errors.spec.ts checks that the app throws its codes through DeployerError only).
 *
 * CONFIG_: the deployment file. SSH_: reaching a controller and its host key. REMOTE_: commands, uploads and
 * the state file on a controller. DEPLOY_: building artifacts and putting VMs on controllers.
 */
import { catalogueCodes, errorCatalogue, errorClass } from '@vmctx/contract';

export const DEPLOYER_ERRORS = errorCatalogue({
  input: [
    'CONFIG_INVALID',
    'CONFIG_UNKNOWN_CONTROLLER',
    'CONFIG_UNKNOWN_IMAGE',
    'CONFIG_DUPLICATE_NAME',
    'CONFIG_DUPLICATE_MAC',
    'CONFIG_DUPLICATE_ADDRESS',
    'CONFIG_INVALID_NAME',
    'CONFIG_TOO_LARGE',
    'CONFIG_NOT_UTF8',
    'CONFIG_UNSAFE_TEXT',
    'CONFIG_ALIAS_LIMIT',
    'SSH_NO_IDENTITY',
    'SSH_HOST_KEY_BAD_HOST',
    'DEPLOY_DOMAIN_REFUSED',
    'DEPLOY_NETWORK_WITH_NATIVE',
    'DEPLOY_IMAGE_URL_INVALID',
    'DEPLOY_IMAGE_CHECKSUM',
    'CONFIG_ID_INVALID',
    'DEPLOY_UNKNOWN_VM',
  ],
  io: [
    'CONFIG_UNREADABLE',
    'CONFIG_IMAGE_NOT_FOUND',
    'CONFIG_TEMPLATE_NOT_FOUND',
    'CONFIG_CONTEXT_NOT_FOUND',
    'SSH_IDENTITY_UNREADABLE',
    'SSH_HOST_KEY_FILE_UNREADABLE',
    'SSH_HOST_KEY_RECORD_FAILED',
    'SSH_HOST_KEY_CHECK_FAILED',
    'DEPLOY_IMAGE_UNREADABLE',
    'DEPLOY_IMAGE_CACHE_FAILED',
    'CONFIG_ID_UNREADABLE',
    'CONFIG_ID_UNWRITABLE',
    'SSH_CONFIG_UNREADABLE',
  ],
  remote: [
    'SSH_UNREACHABLE',
    'SSH_TIMEOUT',
    'SSH_AUTH_FAILED',
    'SSH_FAILED',
    'SSH_CLOSED',
    'SSH_CHANNEL_FAILED',
    'SSH_HOST_KEY_UNKNOWN',
    'SSH_HOST_KEY_CHANGED',
    'SSH_HOST_KEY_REVOKED',
    'SSH_HOST_KEY_INVALID',
    'REMOTE_COMMAND_FAILED',
    'REMOTE_TIMEOUT',
    'REMOTE_UPLOAD_FAILED',
    'REMOTE_UPLOAD_UNVERIFIED',
    'REMOTE_FETCH_FAILED',
    'REMOTE_STATE_UNREADABLE',
    'REMOTE_STATE_CORRUPT',
    'DEPLOY_IMAGE_FETCH_FAILED',
    'DEPLOY_PREFLIGHT_FAILED',
    'DEPLOY_NOT_RUNNING',
    'DEPLOY_WAIT_TIMEOUT',
  ],
  conflict: ['DEPLOY_RECORD_CLASH', 'DEPLOY_LOCKED', 'REMOTE_FILE_FOREIGN', 'DEPLOY_DISK_LOSS'],
  internal: ['DEPLOY_INTERNAL', 'DEPLOY_UNEXPECTED'],
});

export type DeployerErrorCode = keyof typeof DEPLOYER_ERRORS;
export const DEPLOYER_ERROR_CODES: readonly DeployerErrorCode[] = catalogueCodes(DEPLOYER_ERRORS);

/** An error of the deployer: `new DeployerError('SSH_TIMEOUT', message, { where, cause })`, its kind from the catalogue. */
export class DeployerError extends errorClass('DeployerError', DEPLOYER_ERRORS) {}
