/** The environment variable that names the ssh config (as `ssh -F`); a leaf, so that the options' help needs no parser. */
export const SSH_CONFIG_ENV = 'VMCTX_SSH_CONFIG';
