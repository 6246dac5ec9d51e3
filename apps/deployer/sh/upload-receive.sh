# shellcheck shell=sh
# The receiving end of an upload (controller/upload.ts): receive, verify, publish, in one command. The file arrives
# as its data only, framed (controller/sparse-frames.ts): a line `OFFSET LENGTH` then LENGTH bytes, which `dd`
# writes at OFFSET, 64 KiB at a time (`iflag=count_bytes` never reads past them, unlike `head -c` on a pipe; a
# receiver killed mid-frame keeps all but the block in flight); what no frame covers stays a hole. A resumed upload
# first says the runs of data already kept below its start (`kept OFFSET LENGTH`, no bytes). A line `end` closes
# the stream: `truncate` then gives the file its whole size, and the file's sparse digest is checked
# (controller/sparse-digest.ts: adjacent frames merged back into runs of data, and the sha256 of those runs' bytes,
# common/sha256.sh: openssl where present; the holes are not read, their part of the digest is known). The data's
# sha256 is taken as the frames arrive: a reader beside the receiving reads back each frame once it is written. A
# half-sent file never carries the final name.
#
# Run as: sh -c "$UPLOAD_RECEIVE_SH" vmctx-upload PART SPARSE_SHA256 FINAL MODE SIZE
#   PART    the temporary file (upload.ts partialPath: beside FINAL, named after it and the content)
#   SPARSE_SHA256  the sparse digest the whole file must have (hex)
#   FINAL   the final path; MODE its octal mode (chmod); SIZE the whole file's size in bytes
# stdin:  `kept OFFSET LENGTH` lines below the offset this command announced (resume-from), then frames (`OFFSET
#         LENGTH` newline, LENGTH bytes) from it, each in increasing order of offset, then `end` and a newline.
# stdout: first `resume-from N`: the bytes already kept at PART (0 for none): frames are written in order and the
#         whole size is set last, so PART's size is how far it is final; the sender then skips them. ` gzip`
#         after it where gzip is there: a frame may then come as `z OFFSET LENGTH ZLENGTH` and ZLENGTH bytes of
#         gzip. On success, last, FINAL's identity (common/file-identity.sh).
# stderr: why it failed.
# Exit:   0 published; 3 a whole file with another digest, removed; 4 no sum; 5 a read or write error (dd's,
#         truncate's or the sum's message on stderr), or a frame out of order or past SIZE, removed; 6 FINAL is
#         taken (by a file, or a link: `ln -T`, link(2), neither replaces it nor follows it), PART removed; 7 the
#         stream ended before `end` (the channel was cut), what arrived kept for the next upload to resume.
#
# A link or anything but a file at PART is not written through: it is removed first. Another upload of the same
# bytes under way (it holds PART's flock) makes this one use a name of its own, not kept. The runs, the frames for
# the reader (a FIFO) and the data's sum are in a temporary folder (mktemp -d), removed on exit.
vmctx_sh=$(dirname "$0") # from the source tree, the parts beside this file (the generated script holds them)
# shellcheck source=common/file-identity.sh
. "$vmctx_sh/common/file-identity.sh"
# shellcheck source=common/sha256.sh
. "$vmctx_sh/common/sha256.sh"
# shellcheck source=common/partial-file.sh
. "$vmctx_sh/common/partial-file.sh"

umask 077
tmp=$(mktemp -d) || exit 5
trap 'rm -rf -- "$tmp"' EXIT
runs=$tmp/runs
size=$5
open_part "$1" "$size" || exit 5
# ` gzip`: frames may come gzipped (controller/frame-compression.ts).
if command -v gzip >/dev/null 2>&1; then echo "resume-from $have gzip"; else echo "resume-from $have"; fi

# The reader: the bytes of each frame (and kept run) named on the FIFO, read back from PART once written (from the
# page cache), into the sum, beside the receiving (the other core): after the last frame only that frame is left
# to sum (0.62 s after it for the 2 GiB image holding 305 MiB when all its data was read back then, bench part 7).
# A `dd` that fails here makes the sum another one: exit 3, its message on stderr. It stops at the next frame once
# the folder is gone (this command ended).
mkfifo "$tmp/frames" || exit 5
(while [ -d "$tmp" ] && IFS=' ' read -r off len; do
  dd if="$part" bs=65536 iflag=skip_bytes,count_bytes,fullblock skip="$off" count="$len" status=none
done <"$tmp/frames" | sha256_stdin >"$tmp/data") &
reader=$!
exec 6>"$tmp/frames"

# receive: writes each frame of stdin into PART (a gzipped one, `z OFFSET LENGTH ZLENGTH`, inflated by gzip -dc:
# controller/frame-compression.ts), names it to the reader (fd 6), and the runs of data (kept and sent, adjacent
# ones merged) to fd 9, one `OFFSET LENGTH` line each; `end` sets the whole size. Returns 0 at `end`, 5 for a write
# error or a frame that is not this protocol, 7 when stdin ends first.
receive() {
  at=0; run_at=0; run_len=0
  while IFS=' ' read -r off len more; do
    if [ "$off" = end ]; then
      if [ "$run_len" -gt 0 ]; then echo "$run_at $run_len" >&9; fi
      truncate -s "$size" -- "$part" || return 5; return 0
    fi
    kept=no; zlen=
    case $off in
      kept) kept=yes; off=$len; len=${more%% *}; more=${more#"$len"} ;;
      z) off=$len; len=${more%% *}; more=${more#"$len"}; more=${more# }; zlen=${more%% *}; more=${more#"$zlen"}; zlen=${zlen:-x} ;;
    esac
    # Only digits, in order, within the file: anything else is not this protocol (and not arithmetic to trust).
    case $off$len$zlen in '' | *[!0-9]*) echo "bad frame header: $off $len $zlen" >&2; return 5 ;; esac
    if [ -n "$more" ] || [ ${#zlen} -gt 18 ]; then echo "bad frame header: $off $len $zlen$more" >&2; return 5; fi
    # At most 18 digits: the shell's arithmetic is 64-bit, and a sum that wrapped would pass the test of the size.
    if [ -z "$len" ] || [ ${#off} -gt 18 ] || [ ${#len} -gt 18 ] || [ "$off" -lt "$at" ] || [ $((off + len)) -gt "$size" ]; then
      echo "bad frame: $off $len after $at of $size" >&2; return 5
    fi
    # Kept runs lie below what PART holds; sent frames at or past it.
    if { [ "$kept" = yes ] && [ $((off + len)) -gt "$have" ]; } || { [ "$kept" = no ] && [ "$off" -lt "$have" ]; }; then
      echo "bad frame: ${kept#no}$off $len where $have bytes are kept" >&2; return 5
    fi
    if [ -n "$zlen" ]; then
      # At most LENGTH bytes are written whatever gzip gives; a short or wrong inflation fails the digest.
      dd bs=65536 iflag=fullblock,count_bytes count="$zlen" status=none | gzip -dc | \
        dd of="$part" bs=65536 iflag=fullblock,count_bytes count="$len" oflag=seek_bytes seek="$off" conv=notrunc status=none || return 5
    elif [ "$kept" = no ]; then
      dd of="$part" bs=65536 iflag=fullblock,count_bytes count="$len" oflag=seek_bytes seek="$off" conv=notrunc status=none || return 5
    fi
    if [ "$len" -gt 0 ]; then echo "$off $len" >&6; fi
    at=$((off + len))
    if [ "$len" -gt 0 ] && [ "$run_len" -gt 0 ] && [ "$off" -eq $((run_at + run_len)) ]; then run_len=$((run_len + len))
    elif [ "$len" -gt 0 ]; then
      if [ "$run_len" -gt 0 ]; then echo "$run_at $run_len" >&9; fi
      run_at=$off; run_len=$len
    fi
  done
  return 7
}
receive 9>"$runs"; status=$?
exec 6>&-
if [ "$status" = 5 ]; then rm -f -- "$part"; exit 5; fi
if [ "$status" = 7 ]; then
  got=$(stat -c %s -- "$part" 2>/dev/null) || got=0
  if [ "$keep" = yes ] && [ "$got" -gt 0 ]; then echo "$got of $size bytes are there; kept for the next upload to resume" >&2; exit 7; fi
  rm -f -- "$part"; echo "the stream ended before its end; nothing kept" >&2; exit 7
fi
# The reader has the frames' data; its sum is the data's. The sum of the whole file, holes read as zeros, took 10 s
# after the last frame for that image (load 2-8), and filled the page cache with 2 GiB of zero pages.
wait "$reader" || { rm -f -- "$part"; exit 5; }
data=$(cat -- "$tmp/data") || { rm -f -- "$part"; exit 5; }
sum=$({ printf 'vmctx-sparse-sha256 %s 65536\n' "$size"; cat -- "$runs"; echo "data ${data%% *}"; } | sha256_stdin) || { rm -f -- "$part"; exit 5; }
sum=${sum%% *}
if [ -z "$sum" ] || [ -z "${data%% *}" ]; then rm -f -- "$part"; echo "no sha256 of $part" >&2; exit 4; fi
if [ "$sum" != "$2" ]; then rm -f -- "$part"; echo "sparse sha256 on the controller is $sum" >&2; exit 3; fi
publish_part "$4" "$3"
