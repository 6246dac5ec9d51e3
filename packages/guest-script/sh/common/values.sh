# shellcheck shell=sh
# KEY='value' files as data, never as code: `read_values FILE WHAT KEYS` for post-install.sh (common/network,
# files/N.meta). Nothing in FILE is run: a line sets a variable only when its key is one of KEYS, and its value is
# taken character by character, as parseKeyValue() of @vmctx/guest-script reads it (a unit test holds the two
# equal). The script that sources this defines `warn` first. POSIX sh only; names start with rv_.
#
# A line: blanks around it ignored; empty or starting with # skipped; else KEY=VALUE, where VALUE joins
#   plain characters (blanks inside kept), 'single-quoted text' (vmctx writes these: '\'' for a quote),
#   \X (the character X; a \ at the end stays), and "double-quoted text" without $ ` \ in it (Snooze's files);
# so a real Snooze CD (GATEWAY=192.168.122.1, DOMAIN=) reads as sh would read it. A line with $ or ` outside
# single quotes, an unterminated quote, or a key that is not a variable name is not applied, and said (WHAT:LINE).
# Keys not in KEYS are ignored.

read_values() {
  rv_n=0
  while IFS= read -r rv_line || [ -n "$rv_line" ]; do
    rv_n=$((rv_n + 1))
    rv_line=${rv_line#"${rv_line%%[![:space:]]*}"}
    rv_line=${rv_line%"${rv_line##*[![:space:]]}"}
    case $rv_line in ''|'#'*) continue ;; esac
    if [ "${#rv_line}" -gt 4096 ]; then warn "$2:$rv_n: a line longer than 4096 characters; ignored"; continue; fi
    rv_key=${rv_line%%=*}
    case $rv_line in
      *=*) ;;
      *) warn "$2:$rv_n: not KEY=VALUE; ignored"; continue ;;
    esac
    case $rv_key in
      ''|[0-9]*|*[!A-Za-z0-9_]*) warn "$2:$rv_n: not KEY=VALUE; ignored"; continue ;;
    esac
    case " $3 " in *" $rv_key "*) ;; *) continue ;; esac
    rv_rest=${rv_line#*=}
    rv_value=
    rv_ok=yes
    while [ -n "$rv_rest" ]; do
      rv_c=${rv_rest%"${rv_rest#?}"}
      rv_rest=${rv_rest#?}
      case $rv_c in
        "'")
          case $rv_rest in *"'"*) ;; *) rv_ok=no; break ;; esac
          rv_value=$rv_value${rv_rest%%"'"*}
          rv_rest=${rv_rest#*"'"}
          ;;
        '"')
          case $rv_rest in *'"'*) ;; *) rv_ok=no; break ;; esac
          rv_c=${rv_rest%%'"'*}
          case $rv_c in *'$'*|*'`'*|*\\*) rv_ok=no; break ;; esac
          rv_value=$rv_value$rv_c
          rv_rest=${rv_rest#*'"'}
          ;;
        \\)
          if [ -n "$rv_rest" ]; then
            rv_value=$rv_value${rv_rest%"${rv_rest#?}"}
            rv_rest=${rv_rest#?}
          else
            rv_value=$rv_value\\
          fi
          ;;
        '$'|'`') rv_ok=no; break ;;
        *) rv_value=$rv_value$rv_c ;;
      esac
    done
    if [ "$rv_ok" = no ]; then
      warn "$2:$rv_n: $rv_key is not a plain or quoted value (\$, \` or an open quote); ignored"
      continue
    fi
    eval "$rv_key=\$rv_value"
  done <"$1"
}
