#!/usr/bin/env bash
# Prints the path of a Python 3.10 interpreter, or explains how to get one and fails.
# Rasa 3.6 (the last open-source Rasa) needs Python < 3.11, so both environments use 3.10.
set -euo pipefail
candidates=()
command -v python3.10 >/dev/null 2>&1 && candidates+=("$(command -v python3.10)")
if command -v pyenv >/dev/null 2>&1; then
  for dir in "$(pyenv root)"/versions/3.10*; do
    [ -x "$dir/bin/python3.10" ] && candidates+=("$dir/bin/python3.10")
  done
fi
for dir in "$HOME"/.pyenv/versions/3.10*; do
  [ -x "$dir/bin/python3.10" ] && candidates+=("$dir/bin/python3.10")
done
for python in "${candidates[@]}"; do
  # A pyenv shim exists even when no 3.10 is selected; only a working interpreter counts.
  if "$python" -c 'import sys, venv; assert sys.version_info[:2] == (3, 10)' >/dev/null 2>&1; then
    echo "$python"
    exit 0
  fi
done
cat >&2 <<'MSG'
Python 3.10 was not found.
Rasa 3.6 requires Python 3.10 (it does not run on 3.11 or later). Install it, for example:
  pyenv install 3.10.13        (then run make again)
or on Debian/Ubuntu: apt-get install python3.10 python3.10-venv
MSG
exit 1
