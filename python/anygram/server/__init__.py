"""anygram's HTTP server: infini-gram's API (POST ``/``), ``/batch``, ``/indexes``, ``/health``
and the web page at ``/``, on FastAPI and uvicorn (``pip install 'anygram[server]'``).

:func:`create_app` builds the ASGI app over opened indexes; :func:`serve` opens indexes by path
and runs uvicorn (what ``anygram serve`` calls). The query types are the table in
:mod:`anygram.server.queries`.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Mapping
from dataclasses import asdict
from typing import Any

try:
    import fastapi  # noqa: F401
    import fastapi_offline  # noqa: F401
    import uvicorn
except ImportError as e:  # pragma: no cover - depends on the environment
    raise ImportError(
        "the anygram server needs FastAPI and uvicorn: pip install 'anygram[server]'"
    ) from e

from .. import _core
from ..index import Index
from ..query_language import QueryLimits
from .app import Limits, ServerConfig, create_app

__all__ = ["Limits", "ServerConfig", "app_from_env", "create_app", "serve"]

_ENV = "ANYGRAM_SERVE_SPEC"


#: The server checks the boolean-query limits itself (``Limits``, configurable), so the indexes
#: it opens add none of their own.
_NO_QUERY_LIMITS = QueryLimits(None, None, None, None, None)


def _open(
    paths: Mapping[str, str], load_to_ram: bool = False, ray_address: str | None = None
) -> dict[str, Index]:
    def backend() -> Any:
        if ray_address is None:
            return None
        from ..distributed.ray_backend import RayBackend

        return RayBackend(ray_address)

    return {
        name: Index(path, load_to_ram=load_to_ram, query_limits=_NO_QUERY_LIMITS, backend=backend())
        for name, path in paths.items()
    }


def _config_from_dict(d: dict[str, Any]) -> ServerConfig:
    limits = Limits(**d.pop("limits", {}))
    return ServerConfig(limits=limits, **d)


def app_from_env() -> Any:
    """The app described by the environment (how ``serve`` hands its settings to uvicorn's
    worker processes, which each open the indexes; the memory maps share the page cache)."""
    spec = json.loads(os.environ[_ENV])
    indexes = _open(spec["indexes"], spec.get("load_to_ram", False), spec.get("ray"))
    return create_app(indexes, _config_from_dict(spec["config"]))


def _log_config() -> dict[str, Any]:
    """uvicorn's logging plus the access log: one JSON object per line on stderr."""
    cfg: dict[str, Any] = json.loads(json.dumps(uvicorn.config.LOGGING_CONFIG))
    cfg["formatters"]["anygram_json"] = {"format": "%(message)s"}
    cfg["handlers"]["anygram_access"] = {
        "class": "logging.StreamHandler",
        "formatter": "anygram_json",
        "stream": "ext://sys.stderr",
    }
    cfg["loggers"]["anygram.access"] = {
        "handlers": ["anygram_access"],
        "level": "INFO",
        "propagate": False,
    }
    cfg["loggers"]["anygram.server"] = {"handlers": ["default"], "level": "INFO"}
    return cfg


def serve(
    indexes: Mapping[str, str | os.PathLike[str]],
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    workers: int = 1,
    config: ServerConfig | None = None,
    load_to_ram: bool = False,
    access_log: bool = True,
    forwarded_allow_ips: str | None = None,
    ray_address: str | None = None,
) -> None:
    """Opens the indexes (checking each once here, so a bad path fails before listening) and
    serves them under their names until interrupted.

    ``forwarded_allow_ips``: addresses of reverse proxies whose ``X-Forwarded-For`` names the
    client (uvicorn's option; default: ``127.0.0.1``, a proxy on this machine). The fair queue
    charges requests to that client; see the README's section on public deployments.

    ``ray_address``: answer from Ray actors on that cluster (:class:`anygram.distributed.
    RayBackend`) instead of this process; answers are the same."""
    paths = {name: os.fspath(p) for name, p in indexes.items()}
    for name in paths:
        if not name or "/" in name:
            raise ValueError(f"bad index name {name!r}")
    if ray_address is None:
        _open(paths)  # fail early, with the engine's own error
    else:  # the same check on the manifests alone: no shard opened, no actor started
        for p in paths.values():
            _core.remote_index([p], None)
    config = config or ServerConfig()
    config.max_connections = _connection_cap(config.max_connections)
    os.environ[_ENV] = json.dumps(
        {
            "indexes": paths,
            "load_to_ram": load_to_ram,
            "ray": ray_address,
            "config": asdict(config),
        }
    )
    log_config = _log_config()
    if not access_log:
        log_config["loggers"]["anygram.access"]["level"] = "WARNING"
    logging.getLogger("anygram.server").info("serving %s on %s:%d", list(paths), host, port)
    uvicorn.run(
        "anygram.server:app_from_env",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        access_log=False,
        log_config=log_config,
        # The protocol adds the request read deadline and idle-first eviction at the cap (see
        # anygram.server.protocol); it reads its settings from the environment set above.
        http="anygram.server.protocol:ServeProtocol",
        limit_concurrency=config.max_connections,
        timeout_keep_alive=max(1, round(config.keep_alive)),
        forwarded_allow_ips=forwarded_allow_ips,
    )


def _connection_cap(wanted: int) -> int:
    """The connection cap, kept below the process's file-descriptor limit (index files, logs and
    the listening socket need some), so the cap is reached before ``accept`` fails."""
    try:
        import resource

        soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    except (ImportError, OSError):  # pragma: no cover - not POSIX
        return wanted
    if soft == resource.RLIM_INFINITY:
        return wanted
    return max(16, min(wanted, soft - 64))
