# Two images from one file:
#   docker build -t REGISTRY/crypto-lab:0.1.0 .                   # the component image (slim)
#   docker build --target dev -t REGISTRY/crypto-lab-dev:0.1.0 .  # steps with an edited function
# The slim image runs every exported step whose code is the crate's. The dev
# image runs a step that calls a notebook's edited get_features or feval (a
# Rust lightweight component): it holds the toolchain, the crate's source and
# its build, so the step compiles only its own program and links, offline.

# Toolchain: LightGBM's C++ needs CMake >= 3.28 and libclang for its bindings;
# mold links the step programs (and the notebook's cells) fast.
FROM rust:1-bookworm AS toolchain
RUN apt-get update \
 && apt-get install -y --no-install-recommends clang libclang-dev python3-venv mold fonts-dejavu-core \
 && rm -rf /var/lib/apt/lists/* \
 && python3 -m venv /opt/cmake && /opt/cmake/bin/pip install --no-cache-dir 'cmake>=3.28' \
 && ln -s /opt/cmake/bin/cmake /usr/local/bin/cmake

# Build stage of the slim image.
FROM toolchain AS build
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY src src
RUN cargo build --release --locked --bin crypto-lab

# The dev image's layout (crypto_lab::kfp::runtime::script, docs/kubeflow.md "Rust
# lightweight components"):
#   /opt/crypto-lab                 the crate: Cargo.toml, Cargo.lock, src/, scripts/,
#                                   .cargo/config.toml (the project's one profile)
#   /opt/crypto-lab/target          its build with that profile: every dependency,
#                                   and the scripts' packages, so a step's program
#                                   (a script with the edited function) compiles alone
#   /usr/local/cargo                the toolchain and the registry's sources (offline)
#   /usr/local/bin/crypto-lab       the binary (`crypto-lab run-script FILE ARGS`)
#   /usr/local/cargo/bin/rust-script  makes a script's package
# A step writes its program to a fresh folder under /tmp, rust-script's
# package to $HOME/.cache (HOME=/tmp) and the build into target/: target/
# and the cargo home belong to group 0 with the owner's rights, as OpenShift
# runs a pod as a uid of the namespace's range with gid 0 (its usual image
# convention); elsewhere steps run as the image's user, root.
FROM toolchain AS dev
ENV CRYPTO_LAB_SOURCE=/opt/crypto-lab HOME=/tmp
WORKDIR /opt/crypto-lab
COPY Cargo.toml Cargo.lock ./
COPY .cargo .cargo
COPY src src
COPY scripts scripts
RUN cargo install --locked rust-script@0.36.0 \
 && cargo build --locked --bin crypto-lab \
 && cp target/*/debug/crypto-lab /usr/local/bin/crypto-lab \
 && for s in scripts/*.rs; do \
      p=$(rust-script --package "$s") && cp Cargo.lock "$p/" \
      && cargo build --offline --config .cargo/config.toml --manifest-path "$p/Cargo.toml" || exit 1; \
    done \
 && chgrp -R 0 /opt/crypto-lab/target /usr/local/cargo \
 && chmod -R g=u /opt/crypto-lab/target /usr/local/cargo
CMD ["crypto-lab", "--help"]

# Runtime (the default target, the slim image): the binary, OpenMP for
# LightGBM, CA roots for Kaggle's HTTPS, a font for charts.
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
