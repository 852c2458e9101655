"""A planned build on a Ray cluster: one task per shard of the plan, each asking for the memory
the plan estimates, retried when the error is worth retrying (a worker or node lost, an I/O
error on the shared filesystem) and not when it would fail again (a malformed document, a bad
option). Only paths and small records travel; the shards are written by the workers straight
into the index directory, which every node must reach (a shared filesystem)."""

from __future__ import annotations

import os
from typing import Any

from ..errors import AnygramError, AnygramIOError, InternalError
from .plan import Plan, build_shard, finish
from .ray_backend import import_ray

__all__ = ["run_on_ray"]

#: Retries of a shard task after a lost worker or a retryable error.
MAX_RETRIES = 3


def _step(plan_path: str, shard_id: int, workers: int | None) -> dict[str, Any]:
    return build_shard(plan_path, shard_id, workers=workers, quiet=True)


def run_on_ray(
    plan: Plan,
    address: str | None = None,
    *,
    workers: int | None = None,
    cpus_per_task: float = 1,
    quiet: bool = True,
) -> dict[str, Any]:
    """Runs every shard step of ``plan`` as a Ray task (joining the cluster at ``address`` if
    this process has not joined one), then :func:`~anygram.distributed.plan.finish`; returns the
    manifest. ``workers``: threads per task (default: ``cpus_per_task``)."""
    ray = import_ray()
    if not ray.is_initialized():
        ray.init(address=address, log_to_driver=False, configure_logging=False)
    task = ray.remote(_step)
    threads = workers or max(1, int(cpus_per_task))
    refs = {
        task.options(
            num_cpus=cpus_per_task,
            memory=plan.memory[i],
            max_retries=MAX_RETRIES,
            # Application errors are retried only when another try may succeed.
            retry_exceptions=[AnygramIOError],
        ).remote(os.fspath(plan.path), i, threads): i
        for i in range(len(plan.shards))
        if not plan.done(i)
    }
    pending = list(refs)
    while pending:
        done, pending = ray.wait(pending, num_returns=1)
        try:
            record = ray.get(done[0])
        except ray.exceptions.RayTaskError as e:
            for r in pending:
                ray.cancel(r)
            cause = e.cause
            if isinstance(cause, AnygramError):
                raise cause from None
            raise InternalError(f"shard {refs[done[0]]} of the plan failed: {e}") from None
        if not quiet:
            print(f"shard {record['shard_id']} built: {record.get('num_tokens', 0):,} tokens")
    return finish(plan)
