import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kehu.settings")
application = get_wsgi_application()

# What is loaded now, and by the first requests, lives as long as the process: out of the
# garbage collector's full collections (kehu.platform.heap).
from kehu.platform import heap  # noqa: E402  (after Django is set up)

heap.freeze_loaded()
heap.freeze_as_requests_warm_up()
