"""A local emulator of the Kustomer API subset BearScope uses; a development and test tool, not Kustomer."""

from .server import SandboxServer
from .state import SandboxConfig, SandboxState

__all__ = ["SandboxConfig", "SandboxServer", "SandboxState"]
