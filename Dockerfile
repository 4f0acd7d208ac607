# syntax=docker/dockerfile:1
# Multi-stage build: compile in the Rust image, run in a slim Debian as non-root.

# perl: librdkafka's OpenSSL is built from source (rdkafka ssl-vendored), and
# OpenSSL's Configure needs modules the slim image's perl-base lacks.
FROM rust:1.95-slim-bookworm AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends cmake pkg-config build-essential perl \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release -p voice-gateway \
 && cp target/release/voice-gateway /voice-gateway

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates tini \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home-dir /nonexistent --shell /usr/sbin/nologin voicegw
COPY --from=build /voice-gateway /usr/local/bin/voice-gateway
COPY config/voice-gateway.toml /etc/voice-gateway/voice-gateway.toml
COPY assets/prompts /usr/share/voice-gateway/prompts
USER voicegw
# In a container the HTTP API must listen beyond loopback.
ENV VOICEGW__HTTP__LISTEN=0.0.0.0:8080
# The shipped file names the prompt relative to the source tree.
ENV VOICEGW__SPEECH__TTS_FAILURE_PROMPT=/usr/share/voice-gateway/prompts/technical-difficulties.wav
EXPOSE 8080/tcp 20000-29999/udp
HEALTHCHECK --interval=10s --timeout=2s CMD ["voice-gateway", "--version"]
# tini forwards SIGTERM so the gateway drains its calls before exiting.
ENTRYPOINT ["/usr/bin/tini", "--", "voice-gateway", "--config", "/etc/voice-gateway/voice-gateway.toml"]
CMD ["serve"]
