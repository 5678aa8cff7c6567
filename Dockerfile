# The component image for Kubeflow: every exported step runs `crypto-lab <stage>`.
#   docker build -t REGISTRY/crypto-lab:0.1.0 .
# Build stage: LightGBM's C++ needs CMake >= 3.28 and libclang for its bindings.
FROM rust:1-bookworm AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends clang libclang-dev python3-venv \
 && rm -rf /var/lib/apt/lists/* \
 && python3 -m venv /opt/cmake && /opt/cmake/bin/pip install --no-cache-dir 'cmake>=3.28' \
 && ln -s /opt/cmake/bin/cmake /usr/local/bin/cmake
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY src src
RUN cargo build --release --locked --bin crypto-lab

# Runtime: the binary, OpenMP for LightGBM, CA roots for Kaggle's HTTPS, a font for charts.
FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates libgomp1 fonts-dejavu-core \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --create-home --uid 1000 lab
COPY --from=build /src/target/release/crypto-lab /usr/local/bin/crypto-lab
# No USER: the image's default user is root. In the export's volume form that
# user owns a fresh root:root claim, which it may write without any capability
# (KFP 2.16 on drops them all), so no step needs a security context; the
# artifacts form (the default) runs as any user, OpenShift's uid from the
# namespace's range included: a step writes only /tmp and its output paths.
# The KFP v1 pipeline's prepare-volume hands its claim to `lab` (uid 1000),
# whom its stages run as; see crypto_lab::kfp::runtime::volume.
CMD ["crypto-lab", "--help"]
