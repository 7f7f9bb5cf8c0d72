#!/bin/sh
# bazel run //rules:update_reference: writes Stardoc's reference of the rules
# into the workspace's rules/REFERENCE.md.
set -eu
cp "$1" "$BUILD_WORKSPACE_DIRECTORY/rules/REFERENCE.md"
chmod 644 "$BUILD_WORKSPACE_DIRECTORY/rules/REFERENCE.md"
