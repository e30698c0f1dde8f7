#!/bin/sh
# The image's entry point: the argument picks which parts of Hades run in this container.
#   docker run IMAGE all|api|bridge|worker     (or a comma list such as api,bridge)
# It becomes HADES_ROLES (`all` is api,bridge,worker); with no argument HADES_ROLES from the
# environment applies (default: all). node replaces this shell (exec): it is PID 1 and gets
# `docker stop`'s SIGTERM itself. Any other argument runs as a command (sh, node …) for debugging.
set -eu

usage() {
  echo "usage: docker run IMAGE [all|api|bridge|worker|<comma list, e.g. api,bridge>]" >&2
  exit 2
}

is_roles() {
  [ -n "$1" ] || return 1
  old_ifs=$IFS
  IFS=,
  for role in $1; do
    case "$role" in api | bridge | worker) ;; *) IFS=$old_ifs; return 1 ;; esac
  done
  IFS=$old_ifs
}

if [ "$#" -eq 0 ]; then
  exec node dist/main.js
fi
case "$1" in
  all) roles=api,bridge,worker ;;
  -h | --help | help) usage ;;
  *) roles=$1 ;;
esac
if is_roles "$roles"; then
  [ "$#" -eq 1 ] || usage
  export HADES_ROLES="$roles"
  exec node dist/main.js
fi
command -v "$1" >/dev/null 2>&1 || { echo "hades: unknown role or command: $1" >&2; usage; }
exec "$@"
