# shellcheck shell=sh disable=SC2154
# The user's scripts: scripts/* in name order, from the CD folder, each with its #! interpreter (or sh); a failing
# script is reported, not retried. Part of post-install.sh, with the network up; uses `ctx`.

run_scripts() {
  for rs_script in "$ctx"/scripts/*; do
    [ -f "$rs_script" ] || continue
    rs_name=${rs_script##*/}
    log "script $rs_name starts"
    set -f
    # shellcheck disable=SC2046
    set -- $(interpreter "$rs_script")
    set +f
    if (cd "$ctx" && "$@" "$rs_script") </dev/null 2>&1; then
      log "script $rs_name done"
    else
      warn "script $rs_name failed with status $?"
    fi
  done
}
