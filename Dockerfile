# syntax=docker/dockerfile:1
# hoist's container image. Two stages: the release binary is built with the
# toolchain rust-toolchain.toml names (stable, 1.95 on the machines CI runs
# on; the crate's floor is rust-version 1.90), then copied into a slim
# Debian runtime with what hoist shells out to: git and ssh (fetch and push),
# CA certificates, tini as PID 1 (signals reach hoist, zombies from git's
# children are reaped) and curl for the HEALTHCHECK.
#
# Runs as uid/gid 10001 with a read-only root filesystem: everything hoist
# writes is under /var/lib/hoist (HOIST_DATA_DIR: the journal and the mirror;
# HOME is /var/lib/hoist/home) and /tmp, so mount a volume on the first and
# a tmpfs on the second:
#   docker run --read-only --tmpfs /tmp -v hoist:/var/lib/hoist -p 8080:8080 \
#     -e HOIST_REPO=... -e SLACK_BOT_TOKEN=... IMAGE
# Kubernetes: deploy/ (the PVC and an emptyDir do the same).
ARG RUST_VERSION=1.95

FROM rust:${RUST_VERSION}-slim-bookworm AS build
# The commit the binary reports (hoist_build_info); `--build-arg REVISION=$(git rev-parse HEAD)`.
ARG REVISION=unknown
ENV HOIST_BUILD_COMMIT=${REVISION}
WORKDIR /src
COPY . .
# Cache mounts keep the registry and the target dir between builds (BuildKit,
# buildah/podman); the binary is copied out of the cached target dir.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked --bin hoist \
 && install -m 0755 target/release/hoist /usr/local/bin/hoist

FROM debian:bookworm-slim
ARG VERSION=0.1.0
ARG REVISION=unknown
LABEL org.opencontainers.image.title="hoist" \
      org.opencontainers.image.description="ChatOps deploys for GitOps: signed commits to the config repo, rollouts followed in chat" \
      org.opencontainers.image.source="https://github.com/hoist-dev/hoist" \
      org.opencontainers.image.url="https://github.com/hoist-dev/hoist" \
      org.opencontainers.image.documentation="https://github.com/hoist-dev/hoist#readme" \
      org.opencontainers.image.licenses="MIT OR Apache-2.0" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.base.name="docker.io/library/debian:bookworm-slim"
RUN apt-get update \
 && apt-get install -y --no-install-recommends git openssh-client ca-certificates tini curl \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 hoist \
 && useradd --system --uid 10001 --gid 10001 --home-dir /var/lib/hoist/home \
      --no-create-home --shell /usr/sbin/nologin hoist \
 && install -d -o 10001 -g 10001 -m 0750 /var/lib/hoist /var/lib/hoist/home
COPY --from=build /usr/local/bin/hoist /usr/local/bin/hoist
ENV HOIST_DATA_DIR=/var/lib/hoist \
    HOME=/var/lib/hoist/home
USER 10001:10001
WORKDIR /var/lib/hoist
VOLUME ["/var/lib/hoist"]
EXPOSE 8080
# Liveness of `serve` on its default address (HOIST_LISTEN changes it; then
# override this). Kubernetes ignores HEALTHCHECK and uses the pod's probes.
HEALTHCHECK --interval=30s --timeout=3s --start-period=30s --retries=3 \
  CMD ["curl", "-fsS", "-o", "/dev/null", "http://127.0.0.1:8080/healthz"]
ENTRYPOINT ["/usr/bin/tini", "--", "/usr/local/bin/hoist"]
CMD ["serve"]
