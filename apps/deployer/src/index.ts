export { createProgram } from './program.js';
export { quoteArg, shellQuote } from './controller/shell-quote.js';
