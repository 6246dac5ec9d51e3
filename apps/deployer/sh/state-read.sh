# shellcheck shell=sh
# Reads a deployment's record on the controller (deploy/state.ts readState; the record is parsed there through zod).
#
# Run as: sh -c "$STATE_READ_SH" vmctx-state PATH
#   PATH  the record, <imageDir>/.vmctx/<deployment>.json
# stdout: the record's bytes, as they are.
# Exit:   0 read; 9 no record (PATH is not a file); else cat's failure, its message on stderr.
test -f "$1" || exit 9
cat -- "$1"
