"""Load the repo's Chalice apps by path and serve their routes on loopback, in this process.

Every app's module is called ``app``; each is loaded under its own module name so several can
live in one process. Apps read their settings when imported: set the environment first.
"""

from __future__ import annotations

import importlib.util
import logging
import sys
import threading
from pathlib import Path
from types import ModuleType
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
logger = logging.getLogger(__name__)


def load_app_module(app_dir: str) -> ModuleType:
    """Import ``<repo>/<app_dir>/app.py`` as ``hookrelay_app_<app_dir>`` (fresh each call)."""
    name = "hookrelay_app_" + app_dir.replace("-", "_")
    path = ROOT / app_dir / "app.py"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise FileNotFoundError(path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


class ServedApp:
    """A Chalice app's REST routes on http://host:port, through Chalice's own local gateway."""

    def __init__(self, app: Any, host: str = "127.0.0.1", port: int = 0, stage: str = "dev") -> None:
        import warnings

        from chalice.config import Config
        from chalice.local import ChaliceRequestHandler, CustomLocalChalice, LocalChalice, LocalDevServer

        class QuietHandler(ChaliceRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:  # to the log, not stderr
                logger.debug("%s %s", self.address_string(), format % args)

        # chalice local admits every request to IAM-authorized routes; say so once, not per request
        warnings.filterwarnings("ignore", message="IAMAuthorizer is not a supported in local mode")
        config = Config(chalice_stage=stage, config_from_disk={})
        CustomLocalChalice.__bases__ = (LocalChalice, app.__class__)  # what create_local_server does
        app.__class__ = CustomLocalChalice
        self.server = LocalDevServer(app, config, host, port, handler_cls=QuietHandler)
        self.server.server.daemon_threads = True
        self._thread = threading.Thread(target=self.server.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self.server.server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> ServedApp:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server.server_close()
