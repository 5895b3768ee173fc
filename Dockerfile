# Build stage: a release binary.
FROM rust:1-slim-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked --bin studio-broker

# Runtime: glibc, CA certificates and a non-root user, nothing else (no
# shell, no curl: the health check is the broker's own command).
FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /src/target/release/studio-broker /usr/local/bin/studio-broker
USER nonroot
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=5s \
  CMD ["/usr/local/bin/studio-broker", "healthcheck", "--url", "http://127.0.0.1:8080/healthz"]
ENTRYPOINT ["/usr/local/bin/studio-broker"]
CMD ["serve", "--config", "/etc/studio-broker/broker.toml"]
