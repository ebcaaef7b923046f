"""gunicorn settings shared by every tienda service, locally and in containers.

    gunicorn -c gunicorn.conf.py -b 127.0.0.1:8001 'services.products.app:create_app()'

One worker with threads per service (see telemetry/gunicorn.py for why); GUNICORN_THREADS sets the
thread count (default 8). gunicorn's own access log is off: the app writes one JSON access line per
request with its request and trace IDs.
"""

import os

from telemetry.gunicorn import logconfig_dict, on_starting, post_worker_init, worker_exit  # noqa: F401

worker_class = "gthread"
workers = 1
threads = int(os.environ.get("GUNICORN_THREADS", "8"))
preload_app = False
bind = os.environ.get("BIND", "127.0.0.1:8000")
timeout = 30
graceful_timeout = 10
keepalive = 5
accesslog = None
logconfig_dict = logconfig_dict()
logger_class = "telemetry.gunicorn.Logger"
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None
# gunicorn >= 27 opens a control socket at ~/.gunicorn/gunicorn.ctl, shared by every gunicorn of the user;
# several services on one machine would fight over it. Nothing here uses it.
control_socket_disable = True
