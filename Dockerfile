# attune-sync sidecar: `attune-sync watch`, configured by ATTUNE_SYNC_* environment variables.
#   podman build --format docker -t attune-sync .   (or docker build; see scripts/image-smoke.sh)
# Two stages: the build stage installs into a virtual environment from the pinned versions in
# constraints.txt; the final stage copies only that environment (no pip cache, no sources).
ARG PYTHON_IMAGE=python:3.11-slim

FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1
# Only for builds behind a TLS-inspecting proxy: a CA bundle mounted at build time (the
# RUNs below unset the variable when it is empty, so pip keeps its own CA store).
ARG PIP_CERT=
RUN python -m venv /opt/attune-sync
WORKDIR /src
COPY constraints.txt ./
# Dependencies first: this layer is reused while only the sources change.
RUN [ -n "$PIP_CERT" ] || unset PIP_CERT; /opt/attune-sync/bin/pip install -r constraints.txt
COPY pyproject.toml README.md ./
COPY src ./src
RUN [ -n "$PIP_CERT" ] || unset PIP_CERT; \
    /opt/attune-sync/bin/pip install --no-deps -c constraints.txt . \
    && /opt/attune-sync/bin/pip check \
    && /opt/attune-sync/bin/python -m compileall -q /opt/attune-sync/lib

FROM ${PYTHON_IMAGE}
ARG VERSION=dev
ARG REVISION=unknown
LABEL org.opencontainers.image.title="attune-sync" \
      org.opencontainers.image.description="GitOps pack sync for Attune: a folder of pack files is the source of truth" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.source="https://github.com/example/attune-sync" \
      org.opencontainers.image.licenses="MIT" \
      org.opencontainers.image.base.name="docker.io/library/python:3.11-slim"

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PATH=/opt/attune-sync/bin:$PATH
COPY --from=build /opt/attune-sync /opt/attune-sync

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
# Liveness only (readiness needs the database, which is the orchestrator's call). The check
# reads the address the way the daemon does (--listen of PID 1, else ATTUNE_SYNC_LISTEN);
# with the probes off it checks that PID 1 is a live attune-sync. See docs/image.md.
HEALTHCHECK --interval=15s --timeout=4s --start-period=10s --retries=3 \
    CMD ["python", "-m", "attune_sync.healthcheck"]

# Exec form: attune-sync is PID 1 and receives SIGTERM itself (stops within
# ATTUNE_SYNC_SHUTDOWN_TIMEOUT + 3 s, default 8 s; Kubernetes waits 30 s).
ENTRYPOINT ["attune-sync"]
CMD ["watch"]
