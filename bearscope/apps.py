"""App configuration for bearscope: the ground floor every app may use (sweeps, schedules, commands)."""

from django.apps import AppConfig


class BearScopeConfig(AppConfig):
    name = "bearscope"
    verbose_name = "BearScope"
