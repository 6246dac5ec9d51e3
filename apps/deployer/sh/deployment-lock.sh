# shellcheck shell=sh
# Holds a deployment's lock on the controller for as long as its stdin stays open (controller/deployment-lock.ts):
# a flock(1) on a file in the controller's lock folder (/run/lock, else /var/lock, else /tmp), named after the
# deployment and the image folder's device and inode (the same folder under any path). The kernel drops the lock
# with the shell's last descriptor: a run that is killed, or whose connection drops, closes the channel, sshd closes
# this shell's stdin, and the lock is free. A missing image folder holds nothing to protect: no lock is taken.
#
# Run as: sh -c "$DEPLOYMENT_LOCK_SH" vmctx-lock FOLDER DEPLOYMENT HOLDER SECONDS
#   FOLDER      the image folder; DEPLOYMENT the deployment's name
#   HOLDER      this run's line (host, pid, since), written into the lock file once held, for the next run's message
#   SECONDS     how long to wait for a run that holds the lock
# stdin:  nothing; its end lets the lock go.
# stdout: `no-folder` (and holds nothing) when FOLDER is missing; `busy HOLDER` (then waits) when another run holds
#         the lock; `locked PATH` once held.
# Exit:   0 once stdin ends; 3 the folder or the lock file cannot be read or opened; 4 still held by another run
#         after SECONDS; 5 flock is missing; 6 a link at the lock file.
umask 077
if [ ! -d "$1" ]; then echo no-folder; exec cat >/dev/null; fi
command -v flock >/dev/null 2>&1 || { echo "flock(1) is not installed (util-linux)" >&2; exit 5; }
id=$(stat -L -c %d-%i -- "$1") || exit 3
for d in /run/lock /var/lock /tmp; do if [ -d "$d" ] && [ -w "$d" ]; then break; fi; done
f="$d/vmctx-$2-$id.lock"
if [ -L "$f" ]; then echo "$f is a symbolic link; vmctx will not follow it" >&2; exit 6; fi
command exec 9>>"$f" || exit 3
if ! flock -n 9; then
  printf "busy %s\n" "$(head -n 1 -- "$f")"
  flock -w "$4" 9 || exit 4
fi
# Truncated through fd 9 itself (same file, now held), so the holder line never goes to another file.
printf "%s\n" "$3" >"/proc/self/fd/9" 2>/dev/null || printf "%s\n" "$3" >>"$f"
echo "locked $f"
exec cat >/dev/null
