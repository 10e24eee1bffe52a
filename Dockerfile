# imgaudit in a container. The built-in rules ship inside the package, so the image needs
# nothing else; mount a folder for your config, rules and reports (run as your own user id so
# the reports are yours and the folder writable):
#   docker build -t imgaudit .
#   docker run --rm -v "$PWD:/work" --user "$(id -u):$(id -g)" \
#     -e ALIBABA_CLOUD_ACCESS_KEY_ID -e ALIBABA_CLOUD_ACCESS_KEY_SECRET \
#     imgaudit scan --region cn-hangzhou --html audit.html
FROM python:3.12-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1

COPY pyproject.toml README.md /src/
COPY auditor /src/auditor
COPY rules /src/rules

RUN python -m pip install /src \
    && rm -rf /src \
    && useradd --create-home --uid 10001 --user-group imgaudit \
    && install -d -o 10001 -g 10001 /work

# not root; numeric, so that Kubernetes' runAsNonRoot can check it
USER 10001:10001
WORKDIR /work
ENTRYPOINT ["imgaudit"]
CMD ["--help"]
