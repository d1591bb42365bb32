"""The browser middleware that Kustomer's webhooks skip: they have no session, user or page."""

from csp.middleware import CSPMiddleware as CspMiddleware
from django.contrib.auth import middleware as auth
from django.contrib.messages import middleware as messages
from django.contrib.sessions import middleware as sessions

# Everything under this path is machine to machine (bearscope/urls.py mounts the webhooks here).
WEBHOOKS_PREFIX = "webhooks/"


class WebhookSkips:
    """A request under /webhooks/ goes straight on: a signed event needs no session, signed-in user
    or flash messages, and a JSON answer no content security policy. Each one costs CPU on every
    event (docs/benchmarks.md). Frame options stay: Django's deploy check asks for its own class."""

    # Django hands a sync get_response to a middleware that is not async capable.
    async_capable = False

    def __call__(self, request):
        if request.path_info.startswith(f"/{WEBHOOKS_PREFIX}"):
            return self.get_response(request)
        return super().__call__(request)


class SessionMiddleware(WebhookSkips, sessions.SessionMiddleware):
    pass


class AuthenticationMiddleware(WebhookSkips, auth.AuthenticationMiddleware):
    pass


class MessageMiddleware(WebhookSkips, messages.MessageMiddleware):
    pass


class CSPMiddleware(WebhookSkips, CspMiddleware):
    pass
