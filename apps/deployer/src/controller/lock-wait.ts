/**
 * Seconds a deploy or destroy waits for another run of the same deployment on a controller, by default (--lock-wait).
 * A leaf: the commands' options read it at start-up, where the lock itself (deployment-lock.ts) is not loaded.
 */
export const DEFAULT_LOCK_WAIT_SECONDS = 60;
