# syntax=docker/dockerfile:1
# Multi-stage build of the one `sparta` binary.
# Build context: this repository (it stands alone: the catalogue and the example requests are
# in it). `.dockerignore` keeps `target/` and `.git` out of the context.

FROM rust:1.95-bookworm AS build
WORKDIR /src
# Dependencies first, so source edits do not rebuild them.
COPY Cargo.toml Cargo.lock ./
COPY ai/Cargo.toml ai/Cargo.toml
COPY coach/Cargo.toml coach/Cargo.toml
COPY jobs/Cargo.toml jobs/Cargo.toml
COPY api/Cargo.toml api/Cargo.toml
COPY worker/Cargo.toml worker/Cargo.toml
RUN cargo fetch --locked
COPY . ./
# The commit /healthz reports, when the context has no .git: --build-arg SPARTA_BUILD_COMMIT=….
ARG SPARTA_BUILD_COMMIT=""
RUN cargo build --release --locked --bin sparta \
 && cp target/release/sparta /usr/local/bin/sparta

FROM debian:bookworm-slim AS runtime
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates curl libssl3 \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --create-home --home-dir /var/lib/sparta sparta
COPY --from=build /usr/local/bin/sparta /usr/local/bin/sparta
USER sparta
WORKDIR /var/lib/sparta
# MIMALLOC_ALLOW_THP=0: no transparent huge pages for this process, also on hosts whose THP
# mode is `always` (the binary already never asks for them: mimalloc's `no_thp`). With them,
# the kernel zeroed a fresh 2 MiB page each time the allocator reused purged memory: 45 % of
# the API's CPU under batch submits (README, "Performance").
ENV SPARTA_LISTEN=0.0.0.0:8080 \
    SPARTA_LOG__FORMAT=json \
    MIMALLOC_ALLOW_THP=0
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
  CMD curl -fsS http://127.0.0.1:8080/healthz || exit 1
ENTRYPOINT ["sparta"]
CMD ["serve"]
