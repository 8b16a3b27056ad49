#!/usr/bin/env bash
# A consumer of an installed fedora-client, built with pkg-config: OUT is the program.
#   PKG_CONFIG_PATH=<prefix>/lib/<arch>/pkgconfig build-with-pkg-config.sh OUT
set -euo pipefail
here=$(dirname "$0")
${CXX:-g++} -std=c++20 -o "$1" "$here/main.cpp" $(pkg-config --cflags --libs fedora-emulator fedora-client)
