# rnn-lab for a class: a JupyterHub single-user image, a Binder image, a Codespaces/devcontainer image.
# Every RUN line only calls scripts/hub/setup.sh; tests/hub.test.mjs executes each of them (build args
# relocated to temporary folders), since images cannot be built where the tests run.
#   docker build -t rnn-lab .          docker run -p 8888:8888 rnn-lab
# Node ≥ 20 comes from the base image (Debian bookworm's own nodejs is 18, too old).
FROM node:20-bookworm

# Binder passes NB_USER and NB_UID as build args; it needs uid 1000 and `jupyter` on PATH.
ARG NB_USER=jovyan
ARG NB_UID=1000
ARG NB_HOME=/home/${NB_USER}
# Where the course lives and where the kernel is registered (PREFIX/share/jupyter: seen by every user).
ARG RNN_LAB_COURSE=/opt/rnn-lab
ARG PREFIX=/usr/local
# Kept in the image's environment: .devcontainer/devcontainer.json's postCreateCommand finds the course by it.
ENV RNN_LAB_COURSE=${RNN_LAB_COURSE}

USER root
COPY . ${RNN_LAB_COURSE}
RUN "${RNN_LAB_COURSE}/scripts/hub/setup.sh" system
RUN "${RNN_LAB_COURSE}/scripts/hub/setup.sh" account

USER ${NB_USER}
ENV HOME=${NB_HOME}
WORKDIR ${NB_HOME}
RUN "${RNN_LAB_COURSE}/scripts/hub/setup.sh" user

EXPOSE 8888
# Binder and JupyterHub replace this command with their own (jupyter notebook / jupyterhub-singleuser).
CMD ["jupyter", "notebook", "--ip=0.0.0.0", "--port=8888", "--no-browser"]
