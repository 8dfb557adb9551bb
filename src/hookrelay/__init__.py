"""hookrelay core: everything the Chalice apps share. Never imports chalice."""

__version__ = "0.1.0"
USER_AGENT = f"hookrelay/{__version__} (+https://github.com/hookrelay/hookrelay)"
