# shellcheck shell=sh disable=SC2154
# The user's scripts, each run again only when its content changed: a copy of each script that ran is kept in
# state_dir/scripts (root's, 0700), and a script the same as its copy is not run again, when an edited context is
# re-applied or a new CD is applied at boot. A script the context dropped is forgotten (given again, it runs).
# How a script runs is scripts.sh's run_scripts, step for step; that one runs them all, and stays as it is because
# cloud-init's runner embeds it (cloud-init runs its runcmd once per instance itself). Part of post-install.sh,
# with the network up; uses `ctx` and `state_dir`.

run_changed_scripts() {
  cs_kept=$state_dir/scripts
  (umask 077 && mkdir -p "$cs_kept") || { problem "cannot make $cs_kept"; return 1; }
  for cs_script in "$ctx"/scripts/*; do
    [ -f "$cs_script" ] || continue
    cs_name=${cs_script##*/}
    # Without cmp to tell, a script counts as changed: it runs.
    if [ -f "$cs_kept/$cs_name" ] && has cmp && cmp -s "$cs_script" "$cs_kept/$cs_name"; then
      log "script $cs_name unchanged since it last ran; not run again"
      continue
    fi
    log "script $cs_name starts"
    set -f
    # shellcheck disable=SC2046
    set -- $(interpreter "$cs_script")
    set +f
    if (cd "$ctx" && "$@" "$cs_script") </dev/null 2>&1; then
      log "script $cs_name done"
    else
      warn "script $cs_name failed with status $?"
    fi
    # Kept whether it succeeded or not: a failing script is reported, not retried (as run_scripts).
    (umask 077 && cp "$cs_script" "$cs_kept/$cs_name.new" && chmod 600 "$cs_kept/$cs_name.new") &&
      mv -f "$cs_kept/$cs_name.new" "$cs_kept/$cs_name"
  done
  for cs_copy in "$cs_kept"/*; do
    [ -f "$cs_copy" ] || continue
    [ -f "$ctx/scripts/${cs_copy##*/}" ] || rm -f "$cs_copy"
  done
}
