# syntax=docker/dockerfile:1
# Station image: the wire contract, MQTT, the edge agent, its station page and the device
# simulators, nothing else. `uv sync --no-dev --extra station` adds only the page's Starlette,
# Jinja2 and uvicorn and leaves out Numba, SciPy, the InfluxDB client and the Grafana libraries
# (tests/test_deploy_images.py checks the resolved set), so it fits a small station box.
# Build from the repository root: docker build -f deploy/edge.Dockerfile -t frailwatch-edge .
ARG PYTHON_IMAGE=python:3.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
ARG UV_VERSION=0.13.9
ENV UV_COMPILE_BYTECODE=1 UV_LINK_MODE=copy UV_PYTHON_DOWNLOADS=never \
    UV_PROJECT_ENVIRONMENT=/opt/frailwatch
RUN pip install --no-cache-dir "uv==${UV_VERSION}"
WORKDIR /src
# Dependencies first, in their own layer: it changes only when the lock file does.
COPY pyproject.toml uv.lock README.md ./
RUN uv sync --locked --no-dev --extra station --no-install-project
COPY frailwatch frailwatch
COPY runtime runtime
COPY telemetry telemetry
COPY edge edge
COPY gateway gateway
COPY processing processing
COPY grafana grafana
COPY demo demo
RUN uv sync --locked --no-dev --extra station --no-editable

FROM ${PYTHON_IMAGE} AS runtime
RUN useradd --system --uid 10001 --create-home --home-dir /var/lib/frailwatch frailwatch
COPY --from=build /opt/frailwatch /opt/frailwatch
ENV PATH=/opt/frailwatch/bin:$PATH PYTHONUNBUFFERED=1
USER frailwatch
WORKDIR /var/lib/frailwatch
ENTRYPOINT ["frailwatch"]
CMD ["edge", "run"]
