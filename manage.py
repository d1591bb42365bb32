#!/usr/bin/env python
"""Django's command-line utility for BearScope."""

import os
import sys

DEV_KEY_REFUSED = (
    "Refusing to run: DJANGO_DEBUG is off but DJANGO_SECRET_KEY is the public development key. "
    "Set DJANGO_SECRET_KEY to a secret of your own (or DJANGO_DEBUG=true on a developer machine)."
)


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bearscope.settings.local")
    from django.conf import settings
    from django.core.management import execute_from_command_line

    # Local settings are the default here, so a server started without its own key would sign
    # sessions with a key anyone can read; with debug off that is a deployment, not a laptop.
    if not settings.DEBUG and getattr(settings, "DEV_SECRET_KEY", None) == settings.SECRET_KEY:
        sys.exit(DEV_KEY_REFUSED)
    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
