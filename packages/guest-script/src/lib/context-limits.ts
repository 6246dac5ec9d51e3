/**
 * The sizes a context may have, in a module that imports nothing: the schema (`context.ts`) and the check made
 * before parsing (`context-size.ts`) both read them, and context.ts calls context-size.ts, so the limits stand
 * apart rather than one of the two importing the other back.
 */

/** A file on the CD is read into memory by the guest's shell tools; keep each one reasonably small. */
export const MAX_CONTENT_BYTES = 16 * 1024 * 1024;

/**
 * The most bytes a context file may have: room for one content at MAX_CONTENT_BYTES written as base64 (4/3 of it,
 * with a line break and an indentation of up to 8 every 76 characters: about 23 MiB) and the rest of the context.
 */
export const MAX_CONTEXT_BYTES = 32 * 1024 * 1024;
