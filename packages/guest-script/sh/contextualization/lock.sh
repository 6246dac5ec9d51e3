# shellcheck shell=sh disable=SC2154
# One run at a time: the boot's run and a re-apply (udev's event, the timer) may meet, and two post-installs must
# not apply two CDs at once. The lock is a folder made atomically (mkdir) holding its holder's pid, in /run (a
# tmpfs: a lock left by a power cut is gone at the next boot) else in the state folder; one whose holder is gone is
# taken over. Part of contextualization.sh; uses `root`, `state_dir`, `limit` and `log`; sets `lock_dir`.

lock_dir=

# take_lock: waits for the lock at most the post-install's time limit and a minute, then goes on without it.
take_lock() {
  tl_dir=$state_dir/lock
  if [ -d "$root/run" ]; then tl_dir=$root/run/vmctx.lock; fi
  tl_waited=0
  until mkdir "$tl_dir" 2>/dev/null; do
    tl_pid=$(cat "$tl_dir/pid" 2>/dev/null)
    if [ -n "$tl_pid" ] && ! kill -0 "$tl_pid" 2>/dev/null; then rm -rf "$tl_dir"; continue; fi
    if [ "$tl_waited" -ge $((limit + 60)) ]; then log "$tl_dir held by ${tl_pid:-another run} for ${tl_waited}s; going on"; return 1; fi
    if [ "$tl_waited" -eq 0 ]; then log "waiting for the run that holds $tl_dir (pid ${tl_pid:-?})"; fi
    sleep 1
    tl_waited=$((tl_waited + 1))
  done
  printf '%s\n' "$$" >"$tl_dir/pid"
  lock_dir=$tl_dir
}

# shellcheck disable=SC2317 # called from the EXIT trap (contextualization.sh)
drop_lock() {
  if [ -n "$lock_dir" ]; then rm -rf "$lock_dir"; lock_dir=; fi
}
