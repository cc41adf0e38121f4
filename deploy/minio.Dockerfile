# syntax=docker/dockerfile:1
# MinIO built from source at the version make run uses (scripts/tools.txt; the compose
# check asserts they match). MinIO stopped publishing community images, and building
# it ourselves keeps dev and compose on one version.
# Build context: deploy/ (nothing from it is copied).
FROM golang:1.26-bookworm AS build
ARG MINIO_VERSION=v0.0.0-20260212201848-7aac2a2c5b7c
ENV CGO_ENABLED=0 GOTOOLCHAIN=local
RUN --mount=type=cache,target=/go/pkg/mod \
    --mount=type=cache,target=/root/.cache/go-build \
    GOBIN=/out go install github.com/minio/minio@${MINIO_VERSION}

FROM debian:bookworm-slim
# curl for the compose healthcheck (/minio/health/live).
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates curl \
    && rm -rf /var/lib/apt/lists/*
# /data is created owned by minio so a fresh named volume inherits that owner.
RUN useradd --system --uid 10002 --user-group --no-create-home minio \
    && mkdir /data && chown minio:minio /data
COPY --from=build /out/minio /usr/local/bin/minio
USER minio
EXPOSE 9000 9001
ENTRYPOINT ["/usr/local/bin/minio"]
CMD ["server", "/data", "--address", ":9000", "--console-address", ":9001"]
