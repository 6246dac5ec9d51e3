# shellcheck shell=sh
# The steps of install.sh: installScript() writes those of installPlan() in place of this file, one line a step:
#   step_file WHEN PATH MODE <<'DELIMITER'   (the file, then DELIMITER)
#   step_link WHEN PATH TARGET
#   step_rc_local CREATE PATH CALL <<'DELIMITER'   (a fresh rc.local, then DELIMITER)
# WHEN and CREATE: always, systemd, no-systemd or never. From the source tree there are no steps: install.sh only
# checks ROOT.
:
