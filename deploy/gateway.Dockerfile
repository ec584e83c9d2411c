# syntax=docker/dockerfile:1
# Central image: the gateway (processing with Numba, the InfluxDB writer, Prometheus metrics).
# Build from the repository root: docker build -f deploy/gateway.Dockerfile -t frailwatch-gateway .
ARG PYTHON_IMAGE=python:3.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
ARG UV_VERSION=0.13.9
ENV UV_COMPILE_BYTECODE=1 UV_LINK_MODE=copy UV_PYTHON_DOWNLOADS=never \
    UV_PROJECT_ENVIRONMENT=/opt/frailwatch
RUN pip install --no-cache-dir "uv==${UV_VERSION}"
WORKDIR /src
# Dependencies first, in their own layer: it changes only when the lock file does.
COPY pyproject.toml uv.lock README.md ./
RUN uv sync --locked --no-dev --no-install-project --extra gateway
COPY frailwatch frailwatch
COPY runtime runtime
COPY telemetry telemetry
COPY edge edge
COPY gateway gateway
COPY processing processing
COPY grafana grafana
COPY demo demo
RUN uv sync --locked --no-dev --no-editable --extra gateway

FROM ${PYTHON_IMAGE} AS runtime
RUN useradd --system --uid 10001 --create-home --home-dir /var/lib/frailwatch frailwatch
COPY --from=build /opt/frailwatch /opt/frailwatch
ENV PATH=/opt/frailwatch/bin:$PATH PYTHONUNBUFFERED=1
USER frailwatch
WORKDIR /var/lib/frailwatch
ENTRYPOINT ["frailwatch"]
CMD ["gateway", "run"]
