# shellcheck shell=sh
# Whether a file on the controller exists, whether the connecting user may read it, and its size
# (controller/libvirt.ts fileState, for preflight).
#
# Run as: sh -c "$FILE_STATE_SH" vmctx-file PATH
# stdout: `yes SIZE` or `no SIZE`: readable or not, and its size in bytes.
# Exit:   0; 9 PATH is not a file; else stat's failure, its message on stderr.
test -f "$1" || exit 9
r=no
test -r "$1" && r=yes
echo "$r $(stat -c %s -- "$1")"
