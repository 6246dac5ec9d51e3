/** A yes/no question on the terminal, for what cannot be undone (destroy, a replace that loses a disk). */
import { createInterface } from 'node:readline/promises';

export type Confirm = (question: string) => Promise<boolean>;

/** Whether this process can ask: its standard input and error are a terminal. */
export const canAskOnTerminal = (): boolean => Boolean(process.stdin.isTTY && process.stderr.isTTY);

/** Asks on the terminal; anything but y/yes is no. */
export const askOnTerminal: Confirm = async (question) => {
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return /^y(es)?$/i.test((await rl.question(`${question} [y/N] `)).trim());
  } finally {
    rl.close();
  }
};
