#!/usr/bin/env bash
# Migrate, seed the demo tenant, then run the API (gunicorn), live updates (uvicorn), the
# Dramatiq worker, the scheduler and, without Twilio or Vapi credentials, their sandboxes under supervisord
# (devtools/supervisord.conf), which restarts any of them that exits; stopping this script
# (Ctrl-C) stops them all.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
PORT="${PORT:-8000}"
# Live updates (uvicorn, config.asgi) listen beside the API.
REALTIME_PORT="${REALTIME_PORT:-$((PORT + 1))}"
export PORT REALTIME_PORT

# Only tenant schemas whose migrations fingerprint is stale are migrated (in parallel).
DB_POOL=false $PY manage.py migrate_tenants_if_needed --executor=multiprocessing -v 0
$PY manage.py schedule_daily_jobs -v 0
$PY manage.py seed_demo

# supervisord keeps its pidfile and control socket there.
export SUPERVISOR_RUN_DIR="${SUPERVISOR_RUN_DIR:-$PWD/.local}"
mkdir -p "$SUPERVISOR_RUN_DIR"
exec .venv/bin/supervisord -c devtools/supervisord.conf
