#!/usr/bin/env bash
# Prints the path of a working Python 3.12 (the Lambda runtime's version), or explains and fails.
set -u
for candidate in "${PYTHON312:-}" python3.12 python3; do
  [ -n "$candidate" ] || continue
  path=$(command -v "$candidate" 2>/dev/null) || continue
  if "$path" -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 12) else 1)' 2>/dev/null; then
    echo "$path"; exit 0
  fi
done
if command -v pyenv >/dev/null 2>&1; then
  for path in "$(pyenv root)"/versions/3.12*/bin/python3.12; do
    [ -x "$path" ] && { echo "$path"; exit 0; }
  done
fi
echo "Python 3.12 is required (the Lambda runtime is python3.12): install it, or set PYTHON312=/path/to/python3.12" >&2
exit 1
