# syntax=docker/dockerfile:1
# One image for every sfcloud process: Kubernetes runs `sf serve NAME` (infra/terraform/modules/services),
# `sf migrate` and the daily `sf storage maintain` / `sf tenants purge` from it.
# Build: docker build -t sfcloud:$(git rev-parse --short HEAD) .   Deploy by digest (docs/DEPLOY.md).

# Build stage: a C compiler for the Cython codec (ext/), the gRPC stubs generated from proto/,
# everything installed into a virtual environment that the runtime stage copies whole.
FROM python:3.11-slim-bookworm AS build
RUN apt-get update \
    && apt-get install -y --no-install-recommends gcc libc6-dev \
    && rm -rf /var/lib/apt/lists/*
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/sfcloud
ENV PATH=/opt/sfcloud/bin:$PATH
WORKDIR /src
COPY pyproject.toml README.md ./
COPY proto proto
RUN pip install "grpcio-tools==1.85.1" \
    && python -m grpc_tools.protoc -Iproto --python_out=proto --pyi_out=proto --grpc_python_out=proto proto/sfcloud/v1/*.proto \
    && pip uninstall -y grpcio-tools
COPY ext ext
COPY sf sf
COPY services services
COPY gateway gateway
COPY edge edge
COPY sfclient sfclient
RUN pip install . \
    && python -c "import tscodec; assert tscodec.IMPLEMENTATION == 'cython', tscodec.IMPLEMENTATION"

# Runtime stage: no compiler, no sources, a non-root user; the tenant catalog as data.
FROM python:3.11-slim-bookworm AS runtime
RUN groupadd --system --gid 10001 sfcloud \
    && useradd --system --uid 10001 --gid 10001 --no-create-home --shell /usr/sbin/nologin sfcloud
COPY --from=build /opt/sfcloud /opt/sfcloud
COPY tenants /app/tenants
ENV PATH=/opt/sfcloud/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    SF_CATALOG_DIR=/app/tenants \
    SF_EXPORT_DIR=/exports
WORKDIR /app
USER 10001:10001
EXPOSE 8000 50051 50052 50053 50054
# Kubernetes probes each process itself (gRPC health; the gateway's /healthz and /readyz), and one
# image serves five processes, so there is no single command to put here.
HEALTHCHECK NONE
ENTRYPOINT ["sf"]
CMD ["serve", "gateway"]
