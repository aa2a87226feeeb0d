# dtee as a container's entrypoint (README, "Containers"), built with
# nothing to download: the build context is the checkout as it runs here,
# laid out by scripts/containers/context (which decides what goes in: the
# launcher, the modules, the built shim and the pinned Deno).
#
#   scripts/containers/context ctx && docker build -f Dockerfile -t dtee ctx
#   docker run --rm dtee -c /logs/job.log -- ./job.sh
#
# Dockerfile.binary builds the single binary instead, where downloads work.
FROM debian:bookworm-slim
COPY . /opt/dtee/
# On PATH under their own names, so that NAME in messages is `dtee` or
# `cronty` (docs/behaviour.md A6). The run at the end fills Deno's module
# cache, so that a container's first run compiles nothing.
RUN ln -s /opt/dtee/scripts/dtee /usr/local/bin/dtee \
	&& ln -s /opt/dtee/scripts/cronty /usr/local/bin/cronty \
	&& dtee true && cronty true
# As process 1 dtee forwards signals to the command and reaps orphans
# (docs/behaviour.md B2).
ENTRYPOINT ["/usr/local/bin/dtee"]
