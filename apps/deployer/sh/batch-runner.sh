# shellcheck shell=sh
# Several commands through one SSH channel (controller/command-batch.ts): each keeps its own standard output,
# standard error and exit status, as if it had had a channel of its own. Each runs in a subshell (so no command can
# end the batch), its standard streams the channel's own and its stdin /dev/null, and after each one a line with
# the batch's nonce is written to stdout and to stderr; SSH keeps each stream in order, so the lines cut both into
# one part per command. No temporary file and no process beyond the commands themselves.
#
# Run as: sh -s, its stdin: `set -- NONCE` (a word of letters, digits and -), this script, then one line a command:
#         `vmctx_batch_run WORD...`, the words quoted by @vmctx/contract shellQuote. The script goes on
#         stdin, not on the command line, so that its length is not bounded by what one argument may hold.
# stdout: per command, what it printed, then `\nNONCE STATUS\n` (STATUS its exit status).
# stderr: per command, what it printed, then `\nNONCE\n`.
# Exit:   0; a batch cut short (the channel closed) lacks the last commands' lines.
nonce=$1
vmctx_batch_run() {
  ("$@") </dev/null
  printf '\n%s %s\n' "$nonce" "$?"
  printf '\n%s\n' "$nonce" >&2
}
