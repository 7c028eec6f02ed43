#!/bin/bash
# Guest entry point (vm-run.sh runs /mnt/test/run.sh as root inside the VM).
cd "$(dirname "$0")" && exec python3 -u ./test.py "$@"
