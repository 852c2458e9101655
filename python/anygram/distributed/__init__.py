"""Running one index on many machines: serving its shards from Ray actors
(:mod:`anygram.distributed.ray_backend`), and building it as a plan of independent shard steps
(:mod:`anygram.distributed.plan`) run by local processes, Ray or Slurm.

Ray is imported only when used (``pip install 'anygram[ray]'``).
"""

from __future__ import annotations

__all__ = ["RayBackend"]


def __getattr__(name: str) -> object:
    if name == "RayBackend":
        from .ray_backend import RayBackend

        return RayBackend
    raise AttributeError(name)
