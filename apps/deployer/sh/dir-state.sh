# shellcheck shell=sh
# Whether a folder on the controller exists, whether the connecting user may write there, and how many bytes it may
# still write (controller/libvirt.ts directoryState, for preflight's image folder).
#
# Run as: sh -c "$DIR_STATE_SH" vmctx-dir FOLDER
# stdout: `yes BYTES` or `no BYTES`: writable or not, and df's Available (in bytes).
# Exit:   0; 9 FOLDER is not a folder; else df's failure, its message on stderr.
test -d "$1" || exit 9
w=no
test -w "$1" && w=yes
df -P -B1 -- "$1" | awk -v w=$w 'NR==2 {print w, $4}'
