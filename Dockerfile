# syntax=docker/dockerfile:1
# pipfleet's image: the nightly job (`pipfleet run`) and the dashboard (`pipfleet serve`)
# from one image. README's "Container" section says how to build and run it.
#
# The base is pinned by version, not digest: a digest cannot be looked up where this file
# was written (no registry access). Pin yours with `docker buildx imagetools inspect
# python:3.11.14-slim-bookworm` and PYTHON_IMAGE=python:3.11.14-slim-bookworm@sha256:...
# Python 3.11 because constraints.txt is resolved and tested from 3.11 up.
ARG PYTHON_IMAGE=python:3.11.14-slim-bookworm

FROM ${PYTHON_IMAGE} AS builder
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1
RUN python -m venv /opt/venv
WORKDIR /src
# Only what the wheel is built from: pyproject.toml maps src/, migrations/ and docs/ into it.
COPY pyproject.toml README.md LICENSE constraints.txt ./
COPY src/ src/
COPY migrations/ migrations/
COPY docs/ docs/
# pip builds pipfleet's wheel from this source and installs it, with every dependency at
# constraints.txt's version, as README's install section documents. Not the mcp extra:
# `pipfleet mcp` runs beside a coding assistant on a developer's machine, not here.
RUN /opt/venv/bin/pip install --no-cache-dir -c constraints.txt '.[bot,postgres]'

FROM ${PYTHON_IMAGE}
# A fixed UID, so volume ownership and Kubernetes' runAsUser can name it.
RUN groupadd --gid 10001 pipfleet \
 && useradd --uid 10001 --gid 10001 --no-log-init --home-dir /data --create-home \
      --shell /usr/sbin/nologin pipfleet
# The venv alone: no compiler, source tree or pip cache comes across.
COPY --from=builder /opt/venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1
# The working folder holds ./pipfleet.toml (the default config) and a SQLite database if
# one is used; mount it, or pass --config and a PostgreSQL database_url.
WORKDIR /data
USER 10001:10001
# `pipfleet serve --host 0.0.0.0 --public` listens here.
EXPOSE 8080
# For the serve role: asks serve's /healthz on its default port. A `pipfleet run`
# container exits when its run ends, and Kubernetes ignores HEALTHCHECK (its probes are in
# config/kubernetes/), so this only matters to Docker and Compose running serve.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8080/healthz', timeout=4)"]
ENTRYPOINT ["pipfleet"]
CMD ["--help"]
