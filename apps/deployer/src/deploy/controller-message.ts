/**
 * A controller's error shown beside its name (a report's line, a check finding, a progress line): the errors of
 * the connection and of the remote commands start with the controller's name, so that each says where it happened
 * when read alone ("lc1: 127.0.0.1:1 refused the connection..."); printed after the name they said it twice
 * ("lc1: lc1: ..."). The error itself keeps it (`--json`, `where`).
 */
export function withoutControllerName(controller: string, message: string): string {
  const prefix = `${controller}: `;
  return message.startsWith(prefix) ? message.slice(prefix.length) : message;
}
