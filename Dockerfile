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
# No USER: the image's default user is root, so the pipeline's prepare-volume
# step can hand a fresh root-owned volume to `lab` (uid 1000) on every KFP
# backend, none of which needs to honour a security context for it. The stages
# ask to run as uid 1000 where the backend applies one (KFP 2.16 on, and KFP 1
# through Argo); see crypto_lab::kfp::runtime::volume.
CMD ["crypto-lab", "--help"]
