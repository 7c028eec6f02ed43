#!/bin/bash
# The VM tier's scripts run only inside the VM, minutes into `make system-test`: check here, in
# `make test`, that each one at least parses (a broken merge once left test.py unparsable).
set -euo pipefail
cd "$(dirname "$0")"
rc=0
for f in guest/test.py guest/fake-drum; do
    if python3 -c 'import ast, sys; ast.parse(open(sys.argv[1]).read(), sys.argv[1])' "$f"; then echo "PASS syntax $f"; else echo "FAIL syntax $f"; rc=1; fi
done
for f in guest/run.sh system-test.sh vm-image.sh vm-run.sh; do
    if bash -n "$f"; then echo "PASS syntax $f"; else echo "FAIL syntax $f"; rc=1; fi
done
exit $rc
