# attune-sync sidecar: `attune-sync watch`, configured by ATTUNE_SYNC_* environment variables.
# Build: docker build -t attune-sync .     (see deploy/ for Kubernetes and compose examples)
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /src
COPY pyproject.toml README.md ./
COPY src ./src
# The same install the README describes; psycopg[binary] brings its own libpq.
RUN pip install . && rm -rf /src

# Non-root with a fixed uid, so a Kubernetes runAsNonRoot check can verify it.
RUN useradd --uid 10001 --user-group --no-create-home --home-dir /nonexistent attune
USER 10001:10001
WORKDIR /tmp

# git-sync's --root is mounted at /git and its --link is "packs" (see deploy/kubernetes.yaml).
ENV ATTUNE_SYNC_PACKS_DIR=/git/packs \
    ATTUNE_SYNC_LISTEN=0.0.0.0:8080 \
    ATTUNE_SYNC_LOG_FORMAT=json
# ATTUNE_SYNC_DATABASE_URL has no useful default in a container: set it (from a Secret).

EXPOSE 8080
# slim has no curl; liveness only (readiness needs the database, which is the orchestrator's call).
HEALTHCHECK --interval=15s --timeout=3s --start-period=10s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; port = os.environ.get('ATTUNE_SYNC_LISTEN', ':8080').rpartition(':')[2]; urllib.request.urlopen(f'http://127.0.0.1:{port}/healthz', timeout=2)"]

# Exec form: attune-sync is PID 1 and receives SIGTERM itself (stops within
# ATTUNE_SYNC_SHUTDOWN_TIMEOUT + 3 s, default 8 s; Kubernetes waits 30 s).
ENTRYPOINT ["attune-sync"]
CMD ["watch"]
