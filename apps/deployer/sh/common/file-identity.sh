# shellcheck shell=sh
# What proves, later, that a file on a controller is the one vmctx wrote: its device, inode and birth time, as
# `stat -c` prints them. Device and inode alone are not enough: a file removed and another created at once get the
# same inode number again (seen on ext4: rm, then a new file, same inode). The birth time (statx, GNU stat's %W, to
# the nanosecond) tells them apart; where a filesystem has none, stat prints 0 and device and inode remain.
# Sourced by upload-receive.sh, file-identities.sh and remove-files.sh (the embed step inlines it); read back in
# Node through src/sh/answers.ts FileIdentity.

# file_identity PATH: prints PATH's identity (the path itself: a link is not followed).
file_identity() { stat -c %d:%i:%.9W -- "$1"; }
