#!/usr/bin/env bash
# Migrate, seed the demo tenant, then run the API (gunicorn), the Dramatiq worker, the
# scheduler and, without Twilio credentials, the Twilio sandbox together; stopping this
# script (Ctrl-C) stops them all.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
PORT="${PORT:-8000}"
export PORT

DB_POOL=false $PY manage.py migrate_schemas --executor=multiprocessing -v 0
$PY manage.py seed_demo

pids=()
cleanup() { kill "${pids[@]}" 2>/dev/null || true; wait 2>/dev/null || true; }
trap cleanup EXIT INT TERM

if [ -z "${TWILIO_ACCOUNT_SID:-}" ]; then
  # No Twilio credentials: the SDK talks to the loopback sandbox (TWILIO_SANDBOX_URL).
  $PY -m deploy.twilio_sandbox &
  pids+=($!)
fi
.venv/bin/dramatiq tasks.worker --processes 1 --threads 2 &
pids+=($!)
$PY manage.py run_scheduler &
pids+=($!)
.venv/bin/gunicorn config.wsgi -c deploy/gunicorn.conf.py &
pids+=($!)
wait -n "${pids[@]}"
