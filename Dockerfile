# alphagate's image: the package and its command line, nothing else.
# Build: make docker-build. There is no Docker engine on the development machine this
# file was written on: its structure is checked by tests/unit/monitor/test_deploy_files.py.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1

RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends curl \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --create-home --uid 1000 alphagate

WORKDIR /app
COPY pyproject.toml README.md ./
COPY src ./src
COPY configs ./configs
# EXTRA_PACKAGES adds tools to an image of its own (the compose file's jupyter service).
ARG EXTRA_PACKAGES=""
RUN pip install . ${EXTRA_PACKAGES}

USER alphagate
WORKDIR /home/alphagate/work
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s \
    CMD curl -fsS http://127.0.0.1:8000/health || exit 1
ENTRYPOINT ["alphagate"]
CMD ["--help"]
