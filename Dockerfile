# syntax=docker/dockerfile:1
# aks-compliance as a container image. Build from a checkout, run in the repository to scan:
#   docker build -t aks-compliance .
#   docker run --rm -v "$PWD:/work" aks-compliance scan --arm infra --sarif reports/results.sarif
# The first stage builds the wheel; the image holds only the installed wheel (with the html and xdist extras)
# and runs as an unprivileged user.
FROM python:3.12-slim AS build
WORKDIR /src
COPY . .
RUN python -m pip wheel --no-deps --wheel-dir /wheels .

FROM python:3.12-slim
COPY --from=build /wheels /wheels
RUN python -m pip install --no-cache-dir "$(ls /wheels/aks_compliance-*.whl)[html,xdist]" && rm -rf /wheels
RUN useradd --create-home --uid 10001 scanner
USER scanner
WORKDIR /work
ENTRYPOINT ["aks-compliance"]
CMD ["scan", "--help"]
