"""The WSGI app the jobs benchmark serves: ``create_app()`` wired to the jobs runtime.

Identical to ``webapp:create_app()`` once ``create_app`` calls ``webapp.jobs.init_app`` (which
is idempotent, so this module stays correct either way).
"""

from webapp import create_app
from webapp.jobs import init_app

app = create_app()
init_app(app)
