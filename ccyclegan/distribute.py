"""tf.distribute strategies by name, and who writes what when several worker processes train one model.

Multi-worker training follows TensorFlow's documented set-up: every process runs the same program with its own
`TF_CONFIG` environment variable, e.g. for the first of two workers

    TF_CONFIG='{"cluster": {"worker": ["host1:12345", "host2:12345"]}, "task": {"type": "worker", "index": 0}}'

and `make_strategy("multi-worker")` builds a `tf.distribute.MultiWorkerMirroredStrategy` from it. Every worker holds
a full copy of the model and sees its share of each global batch; gradients are summed across workers.

How a training loop writes under several workers (TensorFlow's pattern for custom loops)
---------------------------------------------------------------------------------------
Saving a checkpoint of mirrored variables is collective under MultiWorkerMirroredStrategy: every worker must call
`CheckpointManager.save` at the same step, or the chief waits forever. Only the chief may write the run folder, so
the other workers write the same files into a private temporary folder that is thrown away:

    out = writable_run_dir(run_dir, strategy)      # run_dir on the chief, a fresh temp folder elsewhere
    try:
        manager = tf.train.CheckpointManager(checkpoint, out / "checkpoints", max_to_keep=...)
        ... every worker runs every step, and every write (checkpoints, CSV, TensorBoard, samples, the exported
        ... models) goes under `out`, so the code path is the same on all workers
    finally:
        remove_worker_dir(out, strategy)         # deletes the temp folder; never touches the chief's run folder

Checks that look at what is already in the run folder (the "already holds a run" guard, `--resume`) read `run_dir`
itself on every worker: for resuming, the run folder must be on a file system all workers can read. Messages to the
console are best printed only where `is_chief(strategy)`.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from ccyclegan.errors import UsageError

STRATEGIES = ("default", "mirrored", "multi-worker")
CLUSTER_JOBS = ("chief", "worker", "evaluator")
_TEMP_PREFIX = "ccyclegan-worker-"


class ClusterConfigError(UsageError):
    """TF_CONFIG is missing or does not describe a cluster this process can join."""


@dataclass(frozen=True)
class ClusterTask:
    """The validated content of TF_CONFIG: every job's addresses and which of them this process is."""

    cluster: dict[str, list[str]]
    task_type: str
    task_index: int

    @property
    def is_chief(self) -> bool:
        return is_chief_task(self.cluster, self.task_type, self.task_index)

    @property
    def num_workers(self) -> int:
        """Processes that train together (the chief trains too; an evaluator does not)."""
        return len(self.cluster.get("chief", [])) + len(self.cluster.get("worker", []))


def is_chief_task(cluster: dict, task_type: str | None, task_index: int | None) -> bool:
    """TensorFlow's rule: the "chief" task if the cluster has one, else worker 0; no task at all is one process."""
    if not task_type:
        return True
    if task_type == "chief":
        return True
    return task_type == "worker" and task_index == 0 and "chief" not in cluster


def _fail(problem: str) -> ClusterConfigError:
    return ClusterConfigError(f"TF_CONFIG: {problem} (expected e.g. "
                              '{"cluster": {"worker": ["host1:12345", "host2:12345"]}, '
                              '"task": {"type": "worker", "index": 0}})')


def _check_address(job: str, position: int, address) -> None:
    where = f'cluster["{job}"][{position}]'
    if not isinstance(address, str) or address.count(":") < 1:
        raise _fail(f"{where} is {address!r}, not a 'host:port' string")
    host, _, port = address.rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise _fail(f"{where} is {address!r}, not a 'host:port' string with a port in 1..65535")


def parse_tf_config(text: str | None) -> ClusterTask:
    """Validate TF_CONFIG's text; every problem becomes one ClusterConfigError line that says what is wrong."""
    if text is None or not text.strip():
        raise _fail("not set; --strategy multi-worker needs it in every worker's environment")
    try:
        config = json.loads(text)
    except json.JSONDecodeError as error:
        raise _fail(f"not valid JSON ({error})") from None
    if not isinstance(config, dict):
        raise _fail(f"must be a JSON object, got {type(config).__name__}")
    cluster, task = config.get("cluster"), config.get("task")
    if not isinstance(cluster, dict) or not cluster:
        raise _fail('no "cluster" object with the jobs\' addresses')
    for job, addresses in cluster.items():
        if job not in CLUSTER_JOBS:
            raise _fail(f'unknown job "{job}" in "cluster"; MultiWorkerMirroredStrategy knows {CLUSTER_JOBS}')
        if not isinstance(addresses, list) or not addresses:
            raise _fail(f'cluster["{job}"] must be a non-empty list of "host:port" addresses')
        for position, address in enumerate(addresses):
            _check_address(job, position, address)
    if len(cluster.get("chief", [])) > 1:
        raise _fail(f'a cluster has at most one chief, got {len(cluster["chief"])}')
    if "chief" not in cluster and "worker" not in cluster:
        raise _fail('"cluster" has no "worker" (or "chief") job')
    everyone = [address for addresses in cluster.values() for address in addresses]
    repeated = sorted({address for address in everyone if everyone.count(address) > 1})
    if repeated:
        raise _fail(f"address {repeated[0]} is given to more than one task")
    if not isinstance(task, dict):
        raise _fail('no "task" object saying which task this process is')
    if "type" not in task or "index" not in task:
        raise _fail('"task" needs both "type" and "index"')
    task_type, task_index = task["type"], task["index"]
    if task_type not in cluster:
        raise _fail(f'task type {task_type!r} is not a job of "cluster" ({", ".join(cluster)})')
    if isinstance(task_index, bool) or not isinstance(task_index, int):
        raise _fail(f"task index must be an integer, got {task_index!r}")
    if not 0 <= task_index < len(cluster[task_type]):
        raise _fail(f'task index {task_index} is out of range: cluster["{task_type}"] has '
                    f"{len(cluster[task_type])} address(es), so 0..{len(cluster[task_type]) - 1}")
    if task_type == "evaluator":
        raise _fail("this process is the evaluator, which does not train; run it with --strategy default")
    return ClusterTask({job: list(addresses) for job, addresses in cluster.items()}, task_type, task_index)


def read_tf_config() -> ClusterTask:
    """This process's validated TF_CONFIG."""
    return parse_tf_config(os.environ.get("TF_CONFIG"))


def make_strategy(name: str, cpu_devices: int = 1):
    """A tf.distribute strategy by name; call it before any other TensorFlow work.

    `cpu_devices` > 1 splits the CPU first (to run "mirrored" without GPUs). "multi-worker" reads TF_CONFIG, which
    is validated before TensorFlow sees it so that a typo gives one clear line instead of a hang or a gRPC trace.
    """
    if name not in STRATEGIES:
        raise ValueError(f"unknown strategy {name!r}; expected one of {STRATEGIES}")
    if name == "multi-worker":
        read_tf_config()
        if cpu_devices > 1:
            raise UsageError("--cpu-devices applies to --strategy mirrored; a multi-worker run uses one CPU replica "
                             "(or all local GPUs) per worker process")
    import tensorflow as tf

    if cpu_devices > 1:
        cpu = tf.config.list_physical_devices("CPU")[0]
        tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * cpu_devices)
    if name == "default":
        return tf.distribute.get_strategy()
    if name == "mirrored":
        gpus = tf.config.list_logical_devices("GPU")
        devices = [d.name for d in gpus] or [d.name for d in tf.config.list_logical_devices("CPU")]
        return tf.distribute.MirroredStrategy(devices)
    return _multi_worker_strategy(tf)


def _multi_worker_strategy(tf):
    # NCCL needs GPUs; on CPU-only workers the collectives must be RING (gRPC). AUTO lets TF choose on GPUs.
    implementation = tf.distribute.experimental.CommunicationImplementation
    chosen = implementation.AUTO if tf.config.list_physical_devices("GPU") else implementation.RING
    options = tf.distribute.experimental.CommunicationOptions(implementation=chosen)
    try:
        return tf.distribute.MultiWorkerMirroredStrategy(communication_options=options)
    except RuntimeError as error:  # e.g. collective ops configured after TensorFlow had already started
        raise UsageError(f"cannot start the multi-worker strategy: {error}; make_strategy('multi-worker') must run "
                         "before any other TensorFlow operation in the process") from None


def _task_of(strategy) -> tuple[dict, str | None, int | None]:
    resolver = getattr(strategy, "cluster_resolver", None) if strategy is not None else None
    if resolver is None or not resolver.task_type:
        return {}, None, None
    return resolver.cluster_spec().as_dict(), resolver.task_type, resolver.task_id


def is_chief(strategy=None) -> bool:
    """Whether this process owns the run folder: always for one process; under multi-worker, the chief task."""
    return is_chief_task(*_task_of(strategy))


def writable_run_dir(run_dir: str | os.PathLike, strategy=None) -> Path:
    """Where this process writes: `run_dir` on the chief, a fresh private temp folder on every other worker.

    Non-chief workers still go through every save (checkpoint saving is collective under multi-worker), but what
    they write lands outside the run folder; `remove_worker_dir` deletes it afterwards.
    """
    if is_chief(strategy):
        return Path(run_dir)
    _, task_type, task_index = _task_of(strategy)
    return Path(tempfile.mkdtemp(prefix=f"{_TEMP_PREFIX}{task_type}{task_index}-"))


def remove_worker_dir(path: str | os.PathLike, strategy=None) -> None:
    """Delete a non-chief worker's temp folder from `writable_run_dir`; on the chief this does nothing."""
    if is_chief(strategy):
        return
    path = Path(path)
    if not path.name.startswith(_TEMP_PREFIX):  # a guard: never delete anything writable_run_dir did not make
        raise ValueError(f"{path} is not a worker temp folder made by writable_run_dir; not deleting it")
    shutil.rmtree(path, ignore_errors=True)
