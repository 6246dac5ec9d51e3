# shellcheck shell=sh disable=SC2154
# SSH keys: ssh/authorized_keys and AUTHORIZED_KEYS added, once each, to SSH_USER's (root's by default)
# ~/.ssh/authorized_keys. Part of post-install.sh; uses `root`, `ctx` and `state_dir`.
#
# An edited context (a re-apply, or a new CD at boot) may drop a key: the keys vmctx added are recorded in
# state_dir/ssh-keys.USER, and a recorded key the context no longer has is taken out. A key that was in the file
# before vmctx wrote it is the user's own and is never recorded, so never removed.

install_keys() {
  ik_source=$ctx/ssh/authorized_keys
  ik_user=${SSH_USER:-root}
  is_user "$ik_user" || { problem "SSH_USER is not a user name"; return 1; }
  ik_record=$state_dir/ssh-keys.$ik_user
  if [ ! -f "$ik_source" ] && [ -z "$AUTHORIZED_KEYS" ] && [ ! -s "$ik_record" ]; then return 0; fi
  ik_found=
  if [ -f "$root/etc/passwd" ]; then
    while IFS=: read -r ik_name _ ik_uid ik_gid _ ik_home _; do
      if [ "$ik_name" = "$ik_user" ]; then ik_found=1; break; fi
    done <"$root/etc/passwd"
  fi
  [ -n "$ik_found" ] || { problem "user $ik_user does not exist; SSH keys not installed"; return 1; }
  case $ik_home in /*) ;; *) problem "home of $ik_user is not an absolute path"; return 1 ;; esac
  if ! is_number "$ik_uid" || ! is_number "$ik_gid"; then problem "bad uid or gid for $ik_user in /etc/passwd"; return 1; fi
  ik_dir=$root$ik_home/.ssh
  ik_file=$ik_dir/authorized_keys
  if ! (umask 077 && mkdir -p "$ik_dir" && chmod 700 "$ik_dir"); then problem "cannot make $ik_dir"; return 1; fi
  if [ ! -f "$ik_file" ]; then (umask 077 && : >"$ik_file"); fi
  chmod 600 "$ik_file"
  # A last line without its newline would glue our first key to it.
  if [ -s "$ik_file" ] && [ -n "$(tail -c 1 "$ik_file")" ]; then printf '\n' >>"$ik_file"; fi
  {
    if [ -f "$ik_source" ]; then cat "$ik_source"; printf '\n'; fi
    if [ -n "$AUTHORIZED_KEYS" ]; then printf '%s\n' "$AUTHORIZED_KEYS"; fi
  } | grep -v -e '^$' -e '^#' >"$state_dir/keys.new"
  if [ ! -f "$ik_record" ]; then : >"$ik_record"; fi
  forget_keys || return 1
  ik_added=0
  : >"$ik_record.new"
  while IFS= read -r ik_key || [ -n "$ik_key" ]; do
    if ! grep -qxF -- "$ik_key" "$ik_file"; then
      printf '%s\n' "$ik_key" >>"$ik_file"
      printf '%s\n' "$ik_key" >>"$ik_record.new"
      ik_added=$((ik_added + 1))
    elif grep -qxF -- "$ik_key" "$ik_record"; then
      printf '%s\n' "$ik_key" >>"$ik_record.new"
    fi
  done <"$state_dir/keys.new"
  mv -f "$ik_record.new" "$ik_record"
  rm -f "$state_dir/keys.new"
  chown "$ik_uid:$ik_gid" "$ik_dir" "$ik_file" || problem "cannot give $ik_dir to $ik_user"
  log "SSH: $ik_added key(s) added for $ik_user"
  if [ "$ik_removed" -gt 0 ]; then log "SSH: $ik_removed key(s) removed for $ik_user (vmctx added them; the context no longer has them)"; fi
}

# forget_keys: the lines of the user's file that vmctx added (the record) and the context no longer has
# (keys.new) taken out, through a new file renamed over it (its mode kept); sets ik_removed.
forget_keys() {
  ik_removed=0
  [ -s "$ik_record" ] || return 0
  (umask 077 && : >"$ik_file.vmctx-new") || { problem "cannot rewrite $ik_file"; return 1; }
  while IFS= read -r fk_line || [ -n "$fk_line" ]; do
    if grep -qxF -- "$fk_line" "$ik_record" && ! grep -qxF -- "$fk_line" "$state_dir/keys.new"; then
      ik_removed=$((ik_removed + 1))
      continue
    fi
    printf '%s\n' "$fk_line"
  done <"$ik_file" >>"$ik_file.vmctx-new"
  if [ "$ik_removed" -eq 0 ]; then rm -f "$ik_file.vmctx-new"; return 0; fi
  chmod 600 "$ik_file.vmctx-new" && mv -f "$ik_file.vmctx-new" "$ik_file"
}
