"""The Django project: settings, URLs, WSGI and the gunicorn configuration."""
