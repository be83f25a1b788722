# Samsa as a container image: a build stage with the toolchain, a runtime
# stage with only the shared libraries the binary links against.
#
#   docker build -t samsa .
#   docker run -p 9092:9092 samsa                  # one combined node
#   docker-compose -f docker/docker-compose.yml up  # three combined nodes
#
# Configuration follows the official apache/kafka image: KAFKA_<KEY>
# environment variables become server.properties keys, CLUSTER_ID formats the
# storage on first start (docker/entrypoint.sh, README "Docker").

ARG BASE_IMAGE=debian:bookworm-slim

############################# build #############################
FROM ${BASE_IMAGE} AS build
# The build dependencies of tools/install-deps.sh, without the test tools.
# GTest is listed because cmake/Dependencies.cmake looks for it even when the
# unit tests are not built.
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      cmake ninja-build g++ pkg-config python3 \
      libboost-dev libspdlog-dev libfmt-dev libgtest-dev libgmock-dev \
      liburing-dev libzstd-dev liblz4-dev libsnappy-dev zlib1g-dev libssl-dev \
      libcli11-dev nlohmann-json3-dev \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /src
# Only what the samsa binary is built from, so that editing tests or docs does
# not invalidate the (long) compile layer.
COPY CMakeLists.txt ./
COPY cmake cmake
COPY tools/gen_codecs.py tools/
COPY include include
COPY src src
# The top-level CMakeLists.txt adds these two directories unconditionally;
# without librdkafka and with SAMSA_BUILD_BENCH=OFF they build nothing.
COPY tests/tools/CMakeLists.txt tests/tools/
COPY bench/CMakeLists.txt bench/

ARG SAMSA_JOBS=2
RUN cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release \
      -DSAMSA_BUILD_TESTS=OFF -DSAMSA_BUILD_BENCH=OFF -DSAMSA_SANITIZE=OFF \
 && cmake --build build -j "${SAMSA_JOBS}" --target samsa \
 && strip build/src/cli/samsa \
 && build/src/cli/samsa --version

############################# runtime #############################
FROM ${BASE_IMAGE}
# What `ldd samsa` lists beyond libc/libstdc++; bash and coreutils (for the
# entrypoint and the health check) are part of the base image.
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      libfmt9 libspdlog1.10 liburing2 libzstd1 liblz4-1 libsnappy1v5 zlib1g \
 && rm -rf /var/lib/apt/lists/*

# A fixed uid/gid so that bind-mounted data directories can be chowned to it.
RUN groupadd --system --gid 1000 samsa \
 && useradd --system --uid 1000 --gid samsa --home-dir /var/lib/samsa --no-create-home \
      --shell /usr/sbin/nologin samsa \
 && mkdir -p /var/lib/samsa /etc/samsa \
 && chown samsa:samsa /var/lib/samsa /etc/samsa

COPY --from=build /src/build/src/cli/samsa /usr/local/bin/samsa
COPY docker/entrypoint.sh /usr/local/bin/samsa-docker-entrypoint
COPY docker/healthcheck.sh /usr/local/bin/samsa-healthcheck
COPY docker/server.properties /usr/share/samsa/server.properties

USER samsa
WORKDIR /var/lib/samsa
# Partition logs and the metadata log (log.dirs defaults to /var/lib/samsa/data).
VOLUME ["/var/lib/samsa"]
EXPOSE 9092 9093
HEALTHCHECK --interval=5s --timeout=5s --start-period=60s --retries=3 CMD ["samsa-healthcheck"]
ENTRYPOINT ["samsa-docker-entrypoint"]
