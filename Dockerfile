# dtee as a container entrypoint. Not built in this project's CI (no
# container engine there): kept minimal on purpose; see README, "Containers".
#
# Stage 1 builds the shim and the single binary (`deno task compile`, which
# embeds the shim); stage 2 is a slim glibc runtime with nothing else.
FROM rust:1-bookworm AS build
RUN apt-get update && apt-get install -y --no-install-recommends nodejs npm && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
# scripts/build installs the pinned Deno from npm when none is on PATH; the
# container build may download deno compile's runtime, which CI here cannot.
RUN scripts/build && DTEE_COMPILE_DOWNLOAD=1 .deno/bin/deno task compile

FROM debian:bookworm-slim
COPY --from=build /src/dist/dtee /usr/local/bin/dtee
RUN ln -s dtee /usr/local/bin/cronty
# As process 1 dtee forwards signals to the command and reaps orphans.
ENTRYPOINT ["/usr/local/bin/dtee"]
