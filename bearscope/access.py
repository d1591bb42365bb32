"""Access to the staff pages: sign-in first, then one permission, else the page's own 403."""

from collections.abc import Callable
from functools import wraps

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

View = Callable[..., HttpResponse]


def permission_page_required(permission: str, template: str) -> Callable[[View], View]:
    """Anonymous users go to the login page; signed-in users without `permission` get `template` (403)."""

    def decorator(view: View) -> View:
        @login_required
        @wraps(view)
        def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            if not request.user.has_perm(permission):
                return render(request, template, status=403)
            return view(request, *args, **kwargs)

        return wrapper

    return decorator
