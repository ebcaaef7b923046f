"""The repository's gunicorn.conf.py, unchanged, plus one fix the benchmark needs to start at all.

gunicorn merges ``logconfig_dict`` over its own ``CONFIG_DEFAULTS`` with a shallow ``dict.update``. The
repository's dict (``telemetry.gunicorn.logconfig_dict``) replaces ``handlers`` but has no ``root`` key, so
gunicorn's default root logger, which names a ``console`` handler that no longer exists, is kept and
``dictConfig`` fails with "Error: Unable to configure root logger". Until that is fixed in
telemetry/gunicorn.py, this file adds a root entry with no handlers (the app's ``telemetry.instrument``
installs its own JSON handler on the root logger in the worker). When the repository's dict has a
``root`` it is used as it is.

It also turns off gunicorn's control socket (gunicorn >= 27; older versions ignore the name): every
server would otherwise bind the same ``~/.gunicorn/gunicorn.ctl`` as any other gunicorn on the machine.
It plays no part in serving requests.
"""

from pathlib import Path
from runpy import run_path

_settings = run_path(str(Path(__file__).resolve().parent.parent / "gunicorn.conf.py"))
globals().update({k: v for k, v in _settings.items() if not k.startswith("__")})

if "root" not in logconfig_dict:  # noqa: F821 (defined by the repository's file)
    logconfig_dict = {**logconfig_dict, "root": {"level": "INFO", "handlers": []}}  # noqa: F821

control_socket_disable = True
