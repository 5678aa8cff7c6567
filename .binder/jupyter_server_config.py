# Jupyter's settings in the notebook image (the Dockerfile's notebook target
# copies this to /etc/jupyter): the students' folder as the root, the
# notebook open at start, reachable through `docker run -p 8888:8888`. A Hub
# or Binder passes its own URL, port and token on the command line, which
# win over these.
c = get_config()  # noqa: F821 (Jupyter defines it when it reads this file)
c.ServerApp.root_dir = "/opt/crypto-lab/notebooks"
# `jupyter lab` sets the server's start page from its own default_url
# (JupyterLab's "/lab"), so both: LabApp's for `jupyter lab`, ServerApp's for
# jupyterhub-singleuser and `jupyter server` (.ci/check-room caught this).
c.LabApp.default_url = "/lab/tree/g_research_crypto_forecasting.ipynb"
c.ServerApp.default_url = c.LabApp.default_url
c.ServerApp.ip = "0.0.0.0"
c.ServerApp.port = 8888
c.ServerApp.open_browser = False
