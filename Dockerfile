# dtee as a container's entrypoint (README, "Container image"), built with
# nothing to download. The build context is the installed tree that
# scripts/containers/context lays out (launcher, modules, built shim, the
# pinned Deno); its own scripts/install installs it in place, exactly as on
# a machine: dtee and cronty in /usr/local/bin, the man pages, and Deno's
# cache filled, so that a container's first run compiles nothing.
#
#   scripts/containers/context ctx && podman build --pull=never -t dtee ctx
#   mkdir -p logs && podman run --rm -v "$PWD/logs:/logs" dtee -c /logs/job.log -- sh -c '...'
#
# Dockerfile.binary builds the single binary instead, where downloads work.
FROM debian:bookworm-slim
COPY . /usr/local/lib/dtee/
RUN /usr/local/lib/dtee/scripts/install --prefix /usr/local
# Found through PATH, so that NAME in messages is `dtee` (docs/behaviour.md
# A6: argv[0] as given). As process 1 dtee forwards signals to the command
# and reaps orphans (docs/behaviour.md B2).
ENTRYPOINT ["dtee"]
