#!/bin/bash
# Comindware Business Application Platform: lists the instances on this node with their versions.
# Usage: bash instance_list.sh
set -euo pipefail

CONFIG_DIR=/usr/share/comindware/configs/instance
shopt -s nullglob
configs=("$CONFIG_DIR"/*.yml)
if [ ${#configs[@]} -eq 0 ]; then
  echo "No instances of Comindware Business Application Platform: $CONFIG_DIR has no *.yml"
  exit 0
fi
echo "Instances of Comindware Business Application Platform:"
printf '  %-10s %-14s %-22s %-10s %s\n' NAME VERSION SERVICE STATE CONFIG
for config in "${configs[@]}"; do
  name=$(basename "$config" .yml)
  version=$(cat "/var/lib/comindware/$name/version" 2>/dev/null || echo '-')
  state=$(systemctl is-active "comindware$name" 2>/dev/null || true)
  printf '  %-10s %-14s %-22s %-10s %s\n' "$name" "$version" "comindware$name" "${state:-unknown}" "$config"
done
