# hoist: multi-stage build; the runtime image has git, ssh and CA certificates
# (hoist pushes with the git CLI) and runs as a non-root user.
FROM rust:1.95-slim-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked --bin hoist

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends git openssh-client ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home-dir /var/lib/hoist --create-home hoist
COPY --from=build /src/target/release/hoist /usr/local/bin/hoist
USER 10001
ENV HOIST_DATA_DIR=/var/lib/hoist
WORKDIR /var/lib/hoist
VOLUME ["/var/lib/hoist"]
ENTRYPOINT ["/usr/local/bin/hoist"]
CMD ["--help"]
