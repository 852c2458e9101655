"""An index whose shards Ray actors answer: ``anygram.Index(path, backend=RayBackend(address))``
or ``anygram.Index.on_ray(path, address)``.

Each actor holds a :class:`anygram._core.ShardServer` (some shards of the index, opened where
the actor runs, on a node that holds their files when one can be found). The engine's own
``Index`` runs every query family, sends each round's requests here as bytes, and merges the
answers with its own merge functions, so answers are those of a local index over the same
shards. Nothing of a query is decided in Python: this module only delivers bytes.

Failures: an actor that dies is restarted (``max_restarts``) and its calls retried
(``max_task_retries``; every request is a read, so a retry cannot double-count). When the
retries are spent the query raises :class:`~anygram.errors.ShardUnavailableError`: a sum that
misses a shard is never returned. A query past its deadline (``timeout=``) stops on every actor
(the deadline travels with the request and the engine checks it) and raises
:class:`~anygram.errors.QueryTimeoutError`; calls still queued are cancelled.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .. import _core, errors
from ..errors import InvalidArgumentError, QueryTimeoutError, ShardUnavailableError
from .direct import DirectClient, DirectServer, node_address, seconds_left

if TYPE_CHECKING:  # pragma: no cover
    from ray.actor import ActorHandle

__all__ = ["RayBackend", "import_ray"]

#: Actor options unless the caller gives others (see :class:`RayBackend`).
DEFAULT_ACTOR_OPTIONS: dict[str, Any] = {
    # Placement is by where the files are, balanced over nodes (see _place); a CPU request per
    # actor would leave the actors of an index with more shards than cores unscheduled.
    "num_cpus": 0,
    "max_restarts": 3,
    "max_task_retries": 3,
    # Shard servers release the GIL: several queries run at once on one actor.
    "max_concurrency": 8,
}

#: Time the driver waits past a query's deadline for the actors' own "cancelled" answers (they
#: stop at the deadline themselves) before it cancels the calls.
DEADLINE_GRACE_SECONDS = 1.0


def import_ray() -> Any:
    """The ``ray`` module, or an error naming the extra that provides it."""
    try:
        import ray
    except ImportError:
        raise InvalidArgumentError(
            "this needs ray, from the [ray] extra: pip install 'anygram[ray]'"
        ) from None
    return ray


@dataclass(frozen=True)
class _Failure:
    """An engine error raised in an actor, sent back as data (its class name and message), so
    the driver raises the same :mod:`anygram.errors` class."""

    name: str
    message: str

    def exception(self) -> Exception:
        cls = getattr(errors, self.name, None)
        if isinstance(cls, type) and issubclass(cls, errors.AnygramError):
            return cls(self.message)
        return errors.InternalError(f"{self.name}: {self.message}")


class ShardActor:
    """The body of a shard-server actor (wrapped by ``ray.remote`` when used)."""

    def __init__(
        self,
        paths: list[str],
        shards: list[int],
        options: dict[str, bool],
        token: bytes | None = None,
    ) -> None:
        # An opening error is kept and answered, not raised: raised here it would kill the
        # actor (and each restart would fail again) and reach the driver as "actor died".
        self._server: Any = None
        self._failure: _Failure | None = None
        try:
            self._server = _core.ShardServer(paths, shards, **options)
        except errors.AnygramError as e:
            self._failure = _Failure(type(e).__name__, str(e))
        self._direct = None
        if token is not None:  # the data path that skips Ray's per-call cost (direct.py)
            self._direct = DirectServer(node_address(), token, self._answer_direct)

    def address(self) -> tuple[str, int] | None:
        return None if self._direct is None else self._direct.address

    def _answer_direct(
        self, jobs: list[tuple[int, bytes]], deadline: float | None
    ) -> list[bytes] | tuple[str, str]:
        out = self.run(jobs, deadline)
        return (out.name, out.message) if isinstance(out, _Failure) else out

    def shards(self) -> list[int] | _Failure:
        return self._failure or list(self._server.shards)

    def pid(self) -> int:
        return os.getpid()

    def run(self, jobs: list[tuple[int, bytes]], deadline: float | None) -> list[bytes] | _Failure:
        """Answers one round's jobs; ``deadline`` is wall-clock time (``time.time()``), so a call
        that waited in the actor's queue has only what is left of it."""
        timeout = None if deadline is None else max(0.0, deadline - time.time())
        if self._failure is not None:
            return self._failure
        try:
            return list(self._server.run(jobs, timeout))
        except errors.AnygramError as e:
            return _Failure(type(e).__name__, str(e))


def _shard_dirs(paths: Sequence[str]) -> list[str]:
    """Every shard's directory, in the index's shard order (from the manifests)."""
    dirs = []
    for p in paths:
        try:
            with open(os.path.join(p, "manifest.json"), encoding="utf-8") as f:
                manifest = json.load(f)
        except OSError:  # the engine's open reports it, with its own error
            continue
        dirs += [os.path.join(os.path.abspath(p), s["dir"]) for s in manifest.get("shards", [])]
    return dirs


def _held(dirs: list[str]) -> list[bool]:
    """Which of ``dirs`` this node can read (run on each node by a pinned task)."""
    return [os.path.isfile(os.path.join(d, "docs.bin")) or os.path.isdir(d) for d in dirs]


def _place(ray: Any, groups: list[list[str]]) -> list[str | None]:
    """A node for each group of shard directories: one that holds all of them, the least loaded
    such node first; ``None`` (Ray decides) when no node holds them all."""
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

    nodes = [n["NodeID"] for n in ray.nodes() if n.get("Alive")]
    probe = ray.remote(num_cpus=0)(_held)
    flat = [d for g in groups for d in g]
    refs = [
        probe.options(scheduling_strategy=NodeAffinitySchedulingStrategy(n, soft=False)).remote(
            flat
        )
        for n in nodes
    ]
    held = dict(zip(nodes, ray.get(refs, timeout=60), strict=True))
    load = dict.fromkeys(nodes, 0)
    out: list[str | None] = []
    k = 0
    for g in groups:
        mask = range(k, k + len(g))
        k += len(g)
        able = [n for n in nodes if all(held[n][i] for i in mask)]
        node = min(able, key=lambda n: load[n]) if able else None
        if node is not None:
            load[node] += 1
        out.append(node)
    return out


class RayShards:
    """The runner the engine calls (``_core.remote_index``): delivers each round's jobs to the
    actors holding their shards and returns the answer bytes in job order."""

    def __init__(
        self,
        ray: Any,
        paths: list[str],
        shards_per_actor: int,
        actor_options: dict[str, Any],
        open_options: dict[str, bool],
        direct: bool = True,
    ) -> None:
        from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

        self._ray = ray
        self._token = secrets.token_bytes(16) if direct else None
        dirs = _shard_dirs(paths)
        groups = [
            list(range(i, min(i + shards_per_actor, len(dirs))))
            for i in range(0, len(dirs), shards_per_actor)
        ]
        nodes = _place(ray, [[dirs[s] for s in g] for g in groups])
        cls = ray.remote(ShardActor)
        self.actors: list[ActorHandle] = []
        self.actor_of: dict[int, int] = {}
        for a, (g, node) in enumerate(zip(groups, nodes, strict=True)):
            options = dict(actor_options)
            if node is not None and "scheduling_strategy" not in options:
                # soft: a restarted actor may go to another node if this one is gone.
                options["scheduling_strategy"] = NodeAffinitySchedulingStrategy(node, soft=True)
            self.actors.append(cls.options(**options).remote(paths, g, open_options, self._token))
            for s in g:
                self.actor_of[s] = a
        self.groups = groups
        # Opening errors (a missing or corrupt shard) surface here, with their own class.
        self._get([a.shards.remote() for a in self.actors], None, "opening")
        self.direct: list[DirectClient | None] = [None] * len(self.actors)
        if self._token is not None:
            for a in range(len(self.actors)):
                self._connect(a)

    def __del__(self) -> None:
        for client in getattr(self, "direct", []):
            if client is not None:
                client.close()

    def _connect(self, a: int) -> None:
        """(Re)reads actor ``a``'s address (after a restart it has a new one)."""
        assert self._token is not None
        (address,) = self._get([self.actors[a].address.remote()], None, "connecting")
        old = self.direct[a]
        if old is not None:
            old.close()
        self.direct[a] = None if address is None else DirectClient(tuple(address), self._token)

    def _get(self, refs: list[Any], deadline: float | None, what: str) -> list[Any]:
        ray = self._ray
        wait = None if deadline is None else max(0.0, deadline - time.time())
        try:
            out = ray.get(refs, timeout=None if wait is None else wait + DEADLINE_GRACE_SECONDS)
        except ray.exceptions.GetTimeoutError:
            for r in refs:
                ray.cancel(r)
            raise QueryTimeoutError(
                "the query ran past its deadline and was stopped on every shard server"
            ) from None
        except ray.exceptions.RayActorError as e:
            raise ShardUnavailableError(
                f"a shard server is down ({what}; restarts and retries spent): {e}"
            ) from None
        except (ray.exceptions.ObjectLostError, ray.exceptions.RaySystemError) as e:
            raise ShardUnavailableError(f"a shard server's answer was lost ({what}): {e}") from None
        except ray.exceptions.RayTaskError as e:
            cause = e.cause if isinstance(e.cause, errors.AnygramError) else None
            if cause is not None:
                raise cause from None
            raise errors.InternalError(f"a shard server failed ({what}): {e}") from None
        for r in out:
            if isinstance(r, _Failure):
                raise r.exception()
        return list(out)

    def run(self, jobs: list[tuple[int, bytes]], timeout: float | None) -> list[bytes]:
        deadline = None if timeout is None else time.time() + timeout
        by_actor: dict[int, list[int]] = {}
        for k, (s, _) in enumerate(jobs):
            by_actor.setdefault(self.actor_of[s], []).append(k)
        got: dict[int, list[bytes]] = {}
        # Sent on every connection first, then read: the actors answer in parallel.
        sent = {}
        for a, ks in by_actor.items():
            client = self.direct[a]
            if client is not None:
                with contextlib.suppress(OSError):  # left to Ray below
                    sent[a] = (client, client.send([jobs[k] for k in ks], deadline))
        pending = list(sent.items())
        try:
            while pending:
                a, (client, sock) = pending.pop(0)
                try:
                    out = client.receive(sock, seconds_left(deadline, DEADLINE_GRACE_SECONDS))
                except TimeoutError:
                    raise QueryTimeoutError(
                        "the query ran past its deadline and was stopped on every shard server"
                    ) from None
                except (OSError, ValueError):
                    continue  # left to Ray below, which restarts the actor and retries
                if isinstance(out, tuple):
                    raise _Failure(*out).exception()
                got[a] = out
        finally:
            for _, (_, sock) in pending:  # answers no longer awaited: their connections go
                sock.close()
        lost = [a for a in by_actor if a not in got]
        if lost:  # Ray's own call: waits for a restarted actor, retries, or says it is down
            calls = [
                self.actors[a].run.remote([jobs[k] for k in by_actor[a]], deadline) for a in lost
            ]
            for a, out in zip(lost, self._get(calls, deadline, "query"), strict=True):
                got[a] = out
                if self._token is not None:
                    self._connect(a)
        answers: list[bytes] = [b""] * len(jobs)
        for a, ks in by_actor.items():
            for k, b in zip(ks, got[a], strict=True):
                answers[k] = b
        return answers


class RayBackend:
    """Where an :class:`anygram.Index` runs its shards: Ray actors.

    Parameters
    ----------
    address
        The Ray cluster to join (``ray.init(address=...)``) when this process has not joined one
        yet; ``None`` joins or starts a local one as ``ray.init()`` does.
    shards_per_actor
        Shards each actor holds (consecutive shard numbers).
    actor_options
        Options of the actors (``ray.remote`` options), over :data:`DEFAULT_ACTOR_OPTIONS`:
        ``num_cpus``, ``max_restarts``, ``max_task_retries``, ``max_concurrency``, ...
    direct
        Send queries to the actors over a direct connection each (:mod:`.direct`), falling
        back to Ray's actor call when it fails; ``False``: Ray's call only.
    """

    def __init__(
        self,
        address: str | None = None,
        *,
        shards_per_actor: int = 1,
        actor_options: dict[str, Any] | None = None,
        direct: bool = True,
    ) -> None:
        if not isinstance(shards_per_actor, int) or shards_per_actor < 1:
            raise InvalidArgumentError(
                f"shards_per_actor must be a positive integer, not {shards_per_actor!r}"
            )
        self.address = address
        self.shards_per_actor = shards_per_actor
        self.actor_options = {**DEFAULT_ACTOR_OPTIONS, **(actor_options or {})}
        self.direct = direct
        self.runner: RayShards | None = None

    def open(self, paths: list[str], **open_options: bool) -> Any:
        """The engine's index over ``paths`` with its shards on Ray actors."""
        ray = import_ray()
        if not ray.is_initialized():
            ray.init(address=self.address, log_to_driver=False, configure_logging=False)
        self.runner = RayShards(
            ray, paths, self.shards_per_actor, self.actor_options, open_options, self.direct
        )
        return _core.remote_index(paths, self.runner)
