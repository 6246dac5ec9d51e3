# shellcheck shell=sh
# The receiving end of an upload (controller/upload.ts): receive, verify, publish, in one command. The bytes arrive
# on stdin into `tee`, which writes the temporary file and feeds `sha256sum` as they arrive; then the sum is compared
# and the file published under its final name. A half-sent file never carries the final name.
#
# Run as: sh -c "$UPLOAD_RECEIVE_SH" vmctx-upload PART SHA256 FINAL MODE SIZE
#   PART    the temporary file (upload.ts partialPath: beside FINAL, named after it and the content)
#   SHA256  the sum the whole file must have (hex)
#   FINAL   the final path; MODE its octal mode (chmod); SIZE the whole file's size in bytes
# stdin:  the bytes of the file from the offset this command announced (resume-from), to the end.
# stdout: first `resume-from N`: the bytes already kept at PART (0 for none), which the sender then skips; on
#         success, last, FINAL's identity (common/file-identity.sh).
# stderr: why it failed.
# Exit:   0 published; 3 a whole file with another sum, removed; 4 no sum; 5 a read or write error (tee's or cat's
#         message on stderr), removed; 6 FINAL is taken (by a file, or a link: `ln -T`, link(2), neither replaces
#         it nor follows it), PART removed; 7 fewer bytes than the whole arrived (the channel was cut), kept for
#         the next upload to resume.
#
# A link or anything but a file at PART is not written through: it is removed first. Another upload of the same
# bytes under way (it holds PART's flock) makes this one use a name of its own, not kept.
vmctx_sh=$(dirname "$0") # from the source tree, the parts beside this file (the generated script holds them)
# shellcheck source=common/file-identity.sh
. "$vmctx_sh/common/file-identity.sh"

umask 077
part=$1; keep=yes
if [ -L "$part" ] || { [ -e "$part" ] && [ ! -f "$part" ]; }; then rm -f -- "$part" || exit 5; fi
if command -v flock >/dev/null 2>&1; then
  # `command`: a failed redirection of the special built-in exec would end the shell with its own status.
  command exec 8>>"$part" || exit 5
  if ! flock -n 8; then exec 8>&-; part="$1.$$"; keep=no; rm -f -- "$part"; fi
fi
have=0
if [ "$keep" = yes ] && [ -f "$part" ]; then have=$(stat -c %s -- "$part") || exit 5; fi
# More than the whole cannot be a prefix of it.
if [ "$have" -gt "$5" ]; then : >"$part"; have=0; fi
echo "resume-from $have"
# The kept part (read back) and then what tee appends go to sha256sum through one pipe; fd 3 is the captured output,
# where a failing cat or tee says so (POSIX sh has no pipefail).
out=$( { { if [ "$have" -gt 0 ]; then cat -- "$part" || echo read-failed >&3; fi; tee -a -- "$part" || echo write-failed >&3; } | sha256sum; } 3>&1 )
case $out in *-failed*) rm -f -- "$part"; exit 5 ;; esac
sum=${out%% *}
if [ -z "$sum" ]; then rm -f -- "$part"; echo "no sha256 of $part" >&2; exit 4; fi
if [ "$sum" != "$2" ]; then
  got=$(stat -c %s -- "$part" 2>/dev/null) || got=0
  if [ "$keep" = yes ] && [ "$got" -gt 0 ] && [ "$got" -lt "$5" ]; then echo "$got of $5 bytes are there; kept for the next upload to resume" >&2; exit 7; fi
  rm -f -- "$part"; echo "sha256 on the controller is $sum" >&2; exit 3
fi
chmod "$4" -- "$part" || { rm -f -- "$part"; exit 5; }
if ! ln -T -- "$part" "$3"; then rm -f -- "$part"; echo "$3 exists already; it was not replaced" >&2; exit 6; fi
rm -f -- "$part"
file_identity "$3"
