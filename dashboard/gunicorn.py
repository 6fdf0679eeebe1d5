"""gunicorn settings for production: `gunicorn -c python:dashboard.gunicorn dashboard.wsgi`.

Every value can be overridden by its GUNICORN_* variable (or on the command line).
"""

import os

_cpus = os.cpu_count() or 1

bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
# Requests spend their time waiting for Contactship, so threads do the waiting and processes
# only add CPU: one worker per core, each with enough threads for its share of users.
workers = int(os.environ.get("GUNICORN_WORKERS", _cpus))
worker_class = "gthread"
threads = int(os.environ.get("GUNICORN_THREADS", 8))
# A request ends within CONTACTSHIP_DEADLINE (20 s by default) plus rendering; the timeout only
# catches a worker whose main loop is stuck (a gthread worker's heartbeat keeps beating while a
# thread streams a long export).
timeout = int(os.environ.get("GUNICORN_TIMEOUT", 30))
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT", 30))
# Longer than the load balancer's idle timeout, so gunicorn never closes a connection the
# balancer is about to reuse.
keepalive = int(os.environ.get("GUNICORN_KEEPALIVE", 75))
accesslog = "-"
errorlog = "-"
# gunicorn's default control socket is one path per OS user, shared by every gunicorn that user
# runs; a replica has no use for it.
control_socket_disable = True
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
