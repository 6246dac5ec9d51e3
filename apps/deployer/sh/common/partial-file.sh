# shellcheck shell=sh
# The temporary file an upload or a fetch writes to (upload.ts partialPath), what a cut one left there, and its
# publication under the final name. Sourced by upload-receive.sh and fetch-receive.sh, after common/file-identity.sh
# (the embed step inlines it).

# open_part PART SIZE: sets `part` (PART, or a name of this command's own when another upload or fetch of the same
# bytes holds PART's flock: `keep` is then no, and it is not kept), and `have`: the bytes kept at PART by a cut one
# (0 when there are more than SIZE: that cannot be a prefix). A link or anything but a file at PART is removed
# first, never written through. Holds the flock on fd 8 until the command ends. Returns 5 when it cannot.
open_part() {
  part=$1; keep=yes
  if [ -L "$part" ] || { [ -e "$part" ] && [ ! -f "$part" ]; }; then rm -f -- "$part" || return 5; fi
  if command -v flock >/dev/null 2>&1; then
    # `command`: a failed redirection of the special built-in exec would end the shell with its own status.
    command exec 8>>"$part" || return 5
    if ! flock -n 8; then exec 8>&-; part="$1.$$"; keep=no; rm -f -- "$part"; fi
  fi
  have=0
  if [ "$keep" = yes ] && [ -f "$part" ]; then have=$(stat -c %s -- "$part") || return 5; fi
  if [ "$have" -gt "$2" ]; then : >"$part"; have=0; fi
  : >>"$part" || return 5
}

# publish_part MODE FINAL: gives PART its mode and FINAL's name (`ln -T`, link(2): never over what is there, nor
# through a link), removes PART's name and prints FINAL's identity. Ends the command: 5 when chmod fails, 6 when
# FINAL is taken, PART removed either way.
publish_part() {
  chmod "$1" -- "$part" || { rm -f -- "$part"; exit 5; }
  if ! ln -T -- "$part" "$2"; then rm -f -- "$part"; echo "$2 exists already; it was not replaced" >&2; exit 6; fi
  rm -f -- "$part"
  file_identity "$2"
}
