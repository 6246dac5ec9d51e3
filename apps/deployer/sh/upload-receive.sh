# shellcheck shell=sh
# The receiving end of an upload (controller/upload.ts): receive, verify, publish, in one command. The file arrives
# as its data only, framed (controller/sparse-frames.ts): a line `OFFSET LENGTH` then LENGTH bytes, which `dd`
# writes at OFFSET, 64 KiB at a time (`iflag=count_bytes` never reads past them, unlike `head -c` on a pipe; a
# receiver killed mid-frame keeps all but the block in flight); what no frame covers stays a hole. A line `end`
# closes the stream: `truncate` then gives the file its whole size, and the sha256 is taken of the file as it is
# (common/sha256.sh: openssl where present), the same sum that names the file everywhere in vmctx. A half-sent file
# never carries the final name.
#
# Run as: sh -c "$UPLOAD_RECEIVE_SH" vmctx-upload PART SHA256 FINAL MODE SIZE
#   PART    the temporary file (upload.ts partialPath: beside FINAL, named after it and the content)
#   SHA256  the sum the whole file must have (hex)
#   FINAL   the final path; MODE its octal mode (chmod); SIZE the whole file's size in bytes
# stdin:  frames (`OFFSET LENGTH` newline, LENGTH bytes), in increasing order of offset, of the file's data from the
#         offset this command announced (resume-from), then `end` and a newline.
# stdout: first `resume-from N`: the bytes already kept at PART (0 for none): frames are written in order and the
#         whole size is set last, so PART's size is how far it is final; the sender then skips them. On success,
#         last, FINAL's identity (common/file-identity.sh).
# stderr: why it failed.
# Exit:   0 published; 3 a whole file with another sum, removed; 4 no sum; 5 a read or write error (dd's,
#         truncate's or the sum's message on stderr), or a frame out of order or past SIZE, removed; 6 FINAL is
#         taken (by a file, or a link: `ln -T`, link(2), neither replaces it nor follows it), PART removed; 7 the
#         stream ended before `end` (the channel was cut), what arrived kept for the next upload to resume.
#
# A link or anything but a file at PART is not written through: it is removed first. Another upload of the same
# bytes under way (it holds PART's flock) makes this one use a name of its own, not kept.
vmctx_sh=$(dirname "$0") # from the source tree, the parts beside this file (the generated script holds them)
# shellcheck source=common/file-identity.sh
. "$vmctx_sh/common/file-identity.sh"
# shellcheck source=common/sha256.sh
. "$vmctx_sh/common/sha256.sh"

umask 077
part=$1; size=$5; keep=yes
if [ -L "$part" ] || { [ -e "$part" ] && [ ! -f "$part" ]; }; then rm -f -- "$part" || exit 5; fi
if command -v flock >/dev/null 2>&1; then
  # `command`: a failed redirection of the special built-in exec would end the shell with its own status.
  command exec 8>>"$part" || exit 5
  if ! flock -n 8; then exec 8>&-; part="$1.$$"; keep=no; rm -f -- "$part"; fi
fi
have=0
if [ "$keep" = yes ] && [ -f "$part" ]; then have=$(stat -c %s -- "$part") || exit 5; fi
# More than the whole cannot be a prefix of it.
if [ "$have" -gt "$size" ]; then : >"$part"; have=0; fi
: >>"$part" || exit 5
echo "resume-from $have"

# receive: writes each frame of stdin into PART; `end` sets the whole size. Returns 0 at `end`, 5 for a write error
# or a frame that is not this protocol, 7 when stdin ends first.
receive() {
  at=$have
  while IFS=' ' read -r off len; do
    if [ "$off" = end ]; then truncate -s "$size" -- "$part" || return 5; return 0; fi
    # Only digits, in order, within the file: anything else is not this protocol (and not arithmetic to trust).
    case $off$len in '' | *[!0-9]*) echo "bad frame header: $off $len" >&2; return 5 ;; esac
    # At most 18 digits: the shell's arithmetic is 64-bit, and a sum that wrapped would pass the test of the size.
    if [ -z "$len" ] || [ ${#off} -gt 18 ] || [ ${#len} -gt 18 ] || [ "$off" -lt "$at" ] || [ $((off + len)) -gt "$size" ]; then
      echo "bad frame: $off $len after $at of $size" >&2; return 5
    fi
    dd of="$part" bs=65536 iflag=fullblock,count_bytes count="$len" oflag=seek_bytes seek="$off" conv=notrunc status=none || return 5
    at=$((off + len))
  done
  return 7
}
receive; status=$?
if [ "$status" = 5 ]; then rm -f -- "$part"; exit 5; fi
if [ "$status" = 7 ]; then
  got=$(stat -c %s -- "$part" 2>/dev/null) || got=0
  if [ "$keep" = yes ] && [ "$got" -gt 0 ]; then echo "$got of $size bytes are there; kept for the next upload to resume" >&2; exit 7; fi
  rm -f -- "$part"; echo "the stream ended before its end; nothing kept" >&2; exit 7
fi
# The sum reads the file itself, holes and all, after the last frame (beside the receiving, it would make the frames
# wait: one process reads them). Reading holes costs no disk read, but their first read fills the page cache with
# zero pages (clean, reclaimable): +1.9-2.3 GiB for a 2 GiB image holding 305 MiB. Reading back only the frames, with
# zeros from /dev/zero through a pipe between them, kept it to +0.3 GiB but took longer: 14.6 and 16.7 s against
# 10.8 and 13.9 s for the whole receiving (by hand, load 8-9). On lc3 at load 2 the sum of that file read again took
# 1.9 s with openssl, 5.1 s with sha256sum.
sum=$(sha256_stdin <"$part") || { rm -f -- "$part"; exit 5; }
sum=${sum%% *}
if [ -z "$sum" ]; then rm -f -- "$part"; echo "no sha256 of $part" >&2; exit 4; fi
if [ "$sum" != "$2" ]; then rm -f -- "$part"; echo "sha256 on the controller is $sum" >&2; exit 3; fi
chmod "$4" -- "$part" || { rm -f -- "$part"; exit 5; }
if ! ln -T -- "$part" "$3"; then rm -f -- "$part"; echo "$3 exists already; it was not replaced" >&2; exit 6; fi
rm -f -- "$part"
file_identity "$3"
