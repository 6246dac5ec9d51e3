// Types of sh-files.mjs, for the specs that import it.
export function shFiles(dir: string): string[];
export function topScripts(dir: string): string[];
export function constantName(file: string): string;
export function shellcheck(file: string, input?: string): string;
export function writeOrCheck(output: string, text: string, argv: readonly string[], fix: string): void;
