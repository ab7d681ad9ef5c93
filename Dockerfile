# asyncso operator image: a virtualenv built in a throw-away stage, copied onto a slim Python
# runtime without compilers or pip caches, running as an unprivileged user (uid 65532, the
# "nonroot" id distroless images use, and what the Helm chart's securityContext expects).
#
#   docker build -t asyncso:dev .
#   docker run --rm asyncso:dev --help
ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# --- builder: wheel of asyncso + its dependencies, installed into /opt/venv --------------------
FROM ${PYTHON_IMAGE} AS builder
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PYTHONDONTWRITEBYTECODE=1
# Compilers only for platforms where a dependency (google-re2, msgspec, ...) has no wheel.
RUN apt-get update \
    && apt-get install -y --no-install-recommends build-essential \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
# Metadata first: the dependency layer is rebuilt only when pyproject/constraints change.
COPY pyproject.toml README.md constraints.txt ./
COPY src ./src
RUN python -m venv /opt/venv \
    && /opt/venv/bin/pip install --upgrade pip \
    && /opt/venv/bin/pip wheel --no-deps --wheel-dir /wheels . \
    && /opt/venv/bin/pip install --constraint constraints.txt /wheels/asyncso-*.whl \
    && /opt/venv/bin/pip uninstall -y pip \
    && find /opt/venv -name '__pycache__' -type d -prune -exec rm -rf {} +

# --- runtime -----------------------------------------------------------------------------------
FROM ${PYTHON_IMAGE} AS runtime
LABEL org.opencontainers.image.title="asyncso" \
      org.opencontainers.image.description="External Secrets Operator on asyncio (external-secrets.io/v1)" \
      org.opencontainers.image.licenses="Apache-2.0"
RUN groupadd --system --gid 65532 nonroot \
    && useradd --system --uid 65532 --gid 65532 --no-create-home --home-dir /tmp \
       --shell /usr/sbin/nologin nonroot
COPY --from=builder /opt/venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    HOME=/tmp
USER 65532:65532
# 8080: /metrics (--metrics-addr), 8082: /healthz and /readyz (--live-addr)
EXPOSE 8080 8082
ENTRYPOINT ["asyncso"]
CMD ["run"]
