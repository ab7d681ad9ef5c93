"""asyncso: an External Secrets Operator for Kubernetes on asyncio."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("asyncso")
except PackageNotFoundError:  # running from a source tree without install
    __version__ = "0.0.0+unknown"
