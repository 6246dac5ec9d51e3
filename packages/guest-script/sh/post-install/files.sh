# shellcheck shell=sh disable=SC2154
# Files: each files/N.meta (FILE_PATH, FILE_MODE, FILE_OWNER, FILE_GROUP) checked, and files/N written there with
# that mode and owner, never readable by others before. Part of post-install.sh; uses `root` and `ctx`.

write_files() {
  for wf_meta in "$ctx"/files/*.meta; do
    [ -f "$wf_meta" ] || continue
    wf_data=${wf_meta%.meta}
    FILE_PATH=
    FILE_MODE=
    FILE_OWNER=
    FILE_GROUP=
    read_values "$wf_meta" "files/${wf_meta##*/}" "FILE_PATH FILE_MODE FILE_OWNER FILE_GROUP"
    case $FILE_PATH in
      /*) ;;
      *) problem "${wf_meta##*/}: FILE_PATH is not absolute; skipped"; continue ;;
    esac
    case $FILE_PATH in
      *[!A-Za-z0-9._@+/-]*|*//*|*/|*/./*|*/../*|*/.|*/..)
        problem "${wf_meta##*/}: FILE_PATH has characters or components we do not write; skipped"; continue ;;
    esac
    case ${FILE_MODE:-0644} in
      [0-7][0-7][0-7]|[0-7][0-7][0-7][0-7]) ;;
      *) problem "${wf_meta##*/}: FILE_MODE is not an octal mode; skipped"; continue ;;
    esac
    if ! is_owner "${FILE_OWNER:-root}" || { [ -n "$FILE_GROUP" ] && ! is_owner "$FILE_GROUP"; }; then
      problem "${wf_meta##*/}: FILE_OWNER or FILE_GROUP is not a name or number; skipped"
      continue
    fi
    [ -f "$wf_data" ] || { problem "${wf_data##*/} is missing; $FILE_PATH skipped"; continue; }
    wf_target=$root$FILE_PATH
    wf_tmp=${wf_target%/*}/.vmctx-new.$$
    mkdir -p "${wf_target%/*}" || { problem "cannot make the folder of $FILE_PATH"; continue; }
    # Written under umask 077 and only then given its mode and owner: a secret is never readable by others.
    if (umask 077 && cat "$wf_data" >"$wf_tmp") \
      && chmod "${FILE_MODE:-0644}" "$wf_tmp" \
      && chown "${FILE_OWNER:-root}${FILE_GROUP:+:$FILE_GROUP}" "$wf_tmp" \
      && mv -f "$wf_tmp" "$wf_target"; then
      log "file $FILE_PATH (mode ${FILE_MODE:-0644})"
    else
      rm -f "$wf_tmp"
      problem "cannot write $FILE_PATH"
    fi
  done
}
