# Three images from one file:
#   docker build -t REGISTRY/crypto-lab:0.1.0 .                   # the component image (slim)
#   docker build --target dev -t REGISTRY/crypto-lab-dev:0.1.0 .  # steps with an edited function
#   docker build --target notebook -t REGISTRY/crypto-lab-notebook:0.1.0 .  # the workshop's room
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

# The workshop's room (docs/WORKSHOP.md, "One image for the room"): the dev
# image, whose crate and build the notebook's kernel reuses, with JupyterLab,
# JupyterHub's single-user server and the Rust kernel. The same image runs
#   docker run --rm -p 8888:8888 REGISTRY/crypto-lab-notebook:0.1.0   # a laptop
# as a JupyterHub's single-user image (its spawner runs jupyterhub-singleuser
# through the entrypoint) and as Binder's base (.binder/Dockerfile).
# Layout, besides the dev image's:
#   /opt/crypto-lab/share/notebooks  the notebook and evcxr.toml as shipped
#   /opt/crypto-lab/notebooks        the students' folder (Jupyter's root): the
#                                    entrypoint copies the shipped files in
#                                    when missing (a Hub's empty volume)
#   /opt/crypto-lab/data             the notebook's data (../data/notebook)
#   /opt/jupyter                     JupyterLab, jupyterhub-singleuser, the kernelspec
# The user is jovyan, uid 1000 (Binder's and the Hub charts' default), in
# group 0: the crate's target/ and the cargo home are group 0 with the
# owner's rights (dev, above), so the kernel writes each cell's build there
# without a copy of the build owned by someone else. OpenShift's arbitrary
# uid with gid 0 works the same way.
FROM dev AS notebook
COPY .binder/requirements.txt /opt/jupyter-requirements.txt
RUN python3 -m venv /opt/jupyter \
 && /opt/jupyter/bin/pip install --no-cache-dir -r /opt/jupyter-requirements.txt \
 && useradd --uid 1000 --gid 0 --create-home --shell /bin/bash jovyan
COPY .ci/setup .ci/setup
COPY notebooks/evcxr.toml notebooks/g_research_crypto_forecasting.ipynb share/notebooks/
# The kernel (evcxr_jupyter, built as .ci/setup builds it) and its copy of
# crypto-lab, built where the kernel looks for it: the first cell then
# compiles only the cell. The kernelspec goes to Jupyter's own prefix, for
# every user.
RUN CRYPTO_LAB_CACHE=/opt/crypto-lab-tools bash .ci/setup --kernel \
 && /opt/crypto-lab-tools/tools/bin/evcxr_jupyter --install \
 && mkdir -p /opt/jupyter/share/jupyter/kernels \
 && mv /tmp/.local/share/jupyter/kernels/rust /opt/jupyter/share/jupyter/kernels/rust \
 && rm -rf notebooks/.kernel-warm /tmp/.local \
 && mkdir -p notebooks data \
 && chgrp -R 0 notebooks data target /usr/local/cargo \
 && chmod -R g=u notebooks data target /usr/local/cargo
COPY .binder/jupyter_server_config.py /etc/jupyter/jupyter_server_config.py
COPY .binder/entrypoint /usr/local/bin/crypto-lab-notebook
ENV PATH=/opt/jupyter/bin:/opt/crypto-lab-tools/tools/bin:$PATH \
    HOME=/home/jovyan USER=jovyan SHELL=/bin/bash
USER 1000
EXPOSE 8888
ENTRYPOINT ["crypto-lab-notebook"]
CMD ["jupyter", "lab"]

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
