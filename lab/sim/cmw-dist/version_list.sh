#!/bin/bash
# Comindware Business Application Platform: lists the versions installed on this node.
# Usage: bash version_list.sh
set -euo pipefail

VERSIONS_DIR=/var/www/.cmw_version
versions=$(
  for file in "$VERSIONS_DIR"/*/VERSION; do
    [ -f "$file" ] && cat "$file"
  done | sort -V
)
if [ -z "$versions" ]; then
  echo "No versions of Comindware Business Application Platform are installed in $VERSIONS_DIR"
  exit 0
fi
echo "Installed versions of Comindware Business Application Platform:"
printf '  %-14s %s\n' VERSION PATH
for version in $versions; do
  printf '  %-14s %s\n' "$version" "$VERSIONS_DIR/$version"
done
