# shellcheck shell=sh disable=SC2154
# Running the CD's post-install: from the CD folder, as root, under the time limit, with its #! interpreter (or
# sh), its output in the log; and the instance id that makes a CD new to the guest. Part of contextualization.sh,
# after mount.sh; uses `root`, `mnt` and `limit`.

# The CD's instance-id, or for a CD without one (Snooze's) a checksum of its names and contents.
instance_id() {
  if [ -f "$mnt/instance-id" ]; then
    ii_id=$(head -n 1 "$mnt/instance-id" | tr -cd 'A-Za-z0-9._:-' | cut -c 1-128)
    if [ -n "$ii_id" ]; then printf '%s' "$ii_id"; return; fi
  fi
  for ii_sum in sha256sum md5sum cksum; do
    has "$ii_sum" || continue
    ii_id=$( (cd "$mnt" && find . -type f | sort | while IFS= read -r ii_f; do printf '%s\n' "$ii_f"; cat "$ii_f"; done) | "$ii_sum" | cut -d ' ' -f 1)
    printf '%s-%s' "$ii_sum" "$ii_id"
    return
  done
  printf 'unknown'
}

run_post_install() {
  set -f
  # shellcheck disable=SC2046
  set -- $(interpreter "$mnt/post-install")
  set +f
  VMCTX_ROOT=$root
  VMCTX_CONTEXT_DIR=$mnt
  export VMCTX_ROOT VMCTX_CONTEXT_DIR
  cd "$mnt" || return 1
  run_logged post-install "$limit" "$@" ./post-install
  rp_rc=$?
  cd / || :
  return "$rp_rc"
}
