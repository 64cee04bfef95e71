"""--strategy multi-worker: TF_CONFIG validation, chief/worker folders, and two real worker processes on localhost.

The two-process test trains the CCycleGAN trainer for a few steps under MultiWorkerMirroredStrategy and checks the
result against the same steps in one process: the same global batch must give the same weights.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from ccyclegan.distribute import (
    STRATEGIES,
    ClusterConfigError,
    is_chief,
    is_chief_task,
    make_strategy,
    parse_tf_config,
    remove_worker_dir,
    writable_run_dir,
)

REPO_ROOT = Path(__file__).resolve().parents[1]
WORKER_SCRIPT = Path(__file__).with_name("multiworker_worker.py")
PROCESS_TIMEOUT_SECONDS = 240


def tf_config(cluster, task_type="worker", index=0) -> str:
    return json.dumps({"cluster": cluster, "task": {"type": task_type, "index": index}})


TWO_WORKERS = {"worker": ["localhost:2222", "localhost:2223"]}


# -- TF_CONFIG validation (no TensorFlow, no processes) ---------------------------------------------------------------
@pytest.mark.parametrize("text, expected", [
    (None, "not set"),
    ("  ", "not set"),
    ("{cluster: 1}", "not valid JSON"),
    ("[1, 2]", "must be a JSON object, got list"),
    (json.dumps({"task": {"type": "worker", "index": 0}}), 'no "cluster"'),
    (json.dumps({"cluster": {"worker": []}, "task": {"type": "worker", "index": 0}}), "non-empty list"),
    (json.dumps({"cluster": {"worker": "localhost:2222"}, "task": {"type": "worker", "index": 0}}),
     "non-empty list"),
    (tf_config({"ps": ["localhost:2222"], "worker": ["localhost:2223"]}), 'unknown job "ps"'),
    (tf_config({"worker": ["localhost"]}), "not a 'host:port' string"),
    (tf_config({"worker": ["localhost:http"]}), "port in 1..65535"),
    (tf_config({"worker": ["localhost:70000"]}), "port in 1..65535"),
    (tf_config({"worker": ["localhost:2222", "localhost:2222"]}), "more than one task"),
    (tf_config({"chief": ["a:1", "b:1"], "worker": ["c:1"]}, "chief", 0), "at most one chief"),
    (tf_config({"evaluator": ["a:1"]}, "evaluator", 0), 'no "worker"'),
    (json.dumps({"cluster": TWO_WORKERS}), 'no "task"'),
    (json.dumps({"cluster": TWO_WORKERS, "task": {"type": "worker"}}), '"type" and "index"'),
    (tf_config(TWO_WORKERS, "chief", 0), "task type 'chief' is not a job"),
    (tf_config(TWO_WORKERS, "worker", 2), "task index 2 is out of range"),
    (tf_config(TWO_WORKERS, "worker", -1), "task index -1 is out of range"),
    (tf_config(TWO_WORKERS, "worker", "1"), "must be an integer"),
    (tf_config(TWO_WORKERS, "worker", True), "must be an integer"),
    (tf_config({"worker": ["a:1"], "evaluator": ["b:1"]}, "evaluator", 0), "evaluator, which does not train"),
])
def test_bad_tf_config_gives_one_clear_line(text, expected):
    with pytest.raises(ClusterConfigError) as caught:
        parse_tf_config(text)
    message = str(caught.value)
    assert message.startswith("TF_CONFIG: ") and expected in message
    assert "\n" not in message


def test_good_tf_config_and_who_is_chief():
    second = parse_tf_config(tf_config(TWO_WORKERS, "worker", 1))
    assert (second.task_type, second.task_index, second.num_workers, second.is_chief) == ("worker", 1, 2, False)
    assert parse_tf_config(tf_config(TWO_WORKERS, "worker", 0)).is_chief
    with_chief = {"chief": ["a:1"], "worker": ["b:1", "c:1"]}
    assert parse_tf_config(tf_config(with_chief, "chief", 0)).is_chief
    assert parse_tf_config(tf_config(with_chief, "chief", 0)).num_workers == 3
    assert not parse_tf_config(tf_config(with_chief, "worker", 0)).is_chief  # worker 0 is not chief beside a chief
    assert is_chief_task({}, None, None)  # no cluster: one process


def test_make_strategy_checks_tf_config_before_starting_anything(monkeypatch):
    assert STRATEGIES == ("default", "mirrored", "multi-worker")
    monkeypatch.delenv("TF_CONFIG", raising=False)
    with pytest.raises(ClusterConfigError, match="not set"):
        make_strategy("multi-worker")
    monkeypatch.setenv("TF_CONFIG", tf_config(TWO_WORKERS, "worker", 5))
    with pytest.raises(ClusterConfigError, match="out of range"):
        make_strategy("multi-worker")
    with pytest.raises(ValueError, match="unknown strategy 'parameter-server'"):
        make_strategy("parameter-server")


# -- chief and worker folders, with a stand-in for the strategy's cluster resolver --------------------------------------
def fake_multi_worker_strategy(task_type: str, task_id: int, cluster: dict):
    spec = SimpleNamespace(as_dict=lambda: cluster)
    return SimpleNamespace(cluster_resolver=SimpleNamespace(task_type=task_type, task_id=task_id,
                                                            cluster_spec=lambda: spec))


def test_only_the_chief_writes_the_run_folder(tmp_path):
    run_dir = tmp_path / "run"
    chief = fake_multi_worker_strategy("worker", 0, TWO_WORKERS)
    worker = fake_multi_worker_strategy("worker", 1, TWO_WORKERS)
    assert is_chief(chief) and not is_chief(worker) and is_chief(None)
    assert writable_run_dir(run_dir, chief) == run_dir
    assert writable_run_dir(run_dir, None) == run_dir

    worker_dir = writable_run_dir(run_dir, worker)
    assert worker_dir.is_dir() and run_dir not in worker_dir.parents and not run_dir.exists()
    another = writable_run_dir(run_dir, worker)
    assert another != worker_dir  # a fresh folder each time: nothing shared or reused
    remove_worker_dir(another, worker)
    (worker_dir / "checkpoints").mkdir()
    remove_worker_dir(worker_dir, worker)
    assert not worker_dir.exists()

    run_dir.mkdir()
    remove_worker_dir(run_dir, chief)  # the chief's folder is never deleted
    assert run_dir.is_dir()
    with pytest.raises(ValueError, match="not a worker temp folder"):
        remove_worker_dir(run_dir, worker)  # nor any folder writable_run_dir did not make
    assert run_dir.is_dir()


def test_single_process_strategies_are_chief():
    import tensorflow as tf

    assert is_chief(tf.distribute.get_strategy())


# -- two worker processes on localhost ----------------------------------------------------------------------------------
def free_ports(count: int) -> list[int]:
    """Ports the OS has just handed out; all sockets stay open until every port is known, so they differ."""
    sockets = [socket.socket() for _ in range(count)]
    try:
        for s in sockets:
            s.bind(("localhost", 0))
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def run_processes(jobs: dict[str, dict], folder: Path) -> None:
    """Start every job's worker script at once; fail with their stderr if one fails or they run out of time."""
    base_env = {k: v for k, v in os.environ.items() if k != "TF_CONFIG"}
    base_env.update(TF_CPP_MIN_LOG_LEVEL="2", CUDA_VISIBLE_DEVICES="",
                    PYTHONPATH=os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")])))
    running = {}
    for name, job in jobs.items():
        env = {**base_env, **({"TF_CONFIG": job["tf_config"]} if "tf_config" in job else {})}
        log = open(folder / f"{name}.log", "w")
        command = job.get("command") or [sys.executable, str(WORKER_SCRIPT), "--strategy", job["strategy"],
                                         "--out", str(folder / f"{name}.npz"), "--run-dir", str(job["run_dir"])]
        running[name] = (subprocess.Popen(command, env=env, cwd=folder, stdout=log, stderr=subprocess.STDOUT), log)

    deadline = time.monotonic() + PROCESS_TIMEOUT_SECONDS
    problem = None
    while problem is None and any(p.poll() is None for p, _ in running.values()):
        failed = [name for name, (p, _) in running.items() if p.poll() not in (None, 0)]
        if failed:  # one worker gone: the other would wait for it in a collective until the deadline
            problem = f"{', '.join(failed)} failed"
        elif time.monotonic() > deadline:
            problem = f"timed out after {PROCESS_TIMEOUT_SECONDS} s"
        else:
            time.sleep(0.5)
    for process, log in running.values():
        if process.poll() is None:
            process.kill()
        process.wait()
        log.close()
    failed = [name for name, (p, _) in running.items() if p.returncode != 0]
    if problem or failed:
        output = "\n".join(f"--- {name} (exit {p.returncode}) ---\n{(folder / f'{name}.log').read_text()[-4000:]}"
                           for name, (p, _) in running.items())
        pytest.fail(f"{problem or ', '.join(failed) + ' failed'}\n{output}")


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """Two MultiWorkerMirroredStrategy workers and one single-process reference, run at the same time."""
    folder = tmp_path_factory.mktemp("multiworker")
    cluster = {"worker": [f"localhost:{port}" for port in free_ports(2)]}
    jobs = {f"worker{i}": {"strategy": "multi-worker", "tf_config": tf_config(cluster, "worker", i),
                           "run_dir": folder / "run"} for i in range(2)}
    jobs["single"] = {"strategy": "default", "run_dir": folder / "single_run"}
    started = time.perf_counter()
    run_processes(jobs, folder)
    print(f"three training processes took {time.perf_counter() - started:.0f} s")
    results = {name: dict(np.load(folder / f"{name}.npz")) for name in jobs}
    return SimpleNamespace(folder=folder, run_dir=folder / "run", **results)


def weight_names(result: dict) -> list[str]:
    return sorted(key for key in result if key.startswith(("D/", "G/")))


def test_the_workers_share_the_global_batch_without_overlap(trained):
    assert int(trained.worker0["replicas"]) == 2
    together = np.concatenate([trained.worker0["local_images"], trained.worker1["local_images"]])
    np.testing.assert_array_equal(together, trained.single["local_images"])


def test_the_two_workers_end_with_the_same_weights(trained):
    names = weight_names(trained.single)
    assert names == weight_names(trained.worker0) == weight_names(trained.worker1)
    assert any(n.startswith("D/") for n in names) and any(n.startswith("G/") for n in names)
    for name in names:
        np.testing.assert_allclose(trained.worker0[name], trained.worker1[name], rtol=0, atol=1e-6, err_msg=name)


def test_two_workers_train_like_one_process_on_the_same_global_batch(trained):
    names = weight_names(trained.single)
    for name in names:
        np.testing.assert_allclose(trained.worker0[name], trained.single[name], rtol=1e-3, atol=1e-5, err_msg=name)
    # The comparison means something only if the steps moved the weights by more than its tolerance.
    moved = [n for n in names if not np.allclose(trained.single[n], trained.single[f"initial/{n}"], 1e-3, 1e-5)]
    assert len(moved) > len(names) // 2, f"only {len(moved)} of {len(names)} weights changed in training"
    for prefix in ("D/", "G/"):
        assert any(n.startswith(prefix) for n in moved)


def test_only_the_chief_writes_the_run_folder_and_its_checkpoint(trained):
    assert bool(trained.worker0["is_chief"]) and not bool(trained.worker1["is_chief"])
    assert Path(str(trained.worker0["write_dir"])) == trained.run_dir
    worker_dir = Path(str(trained.worker1["write_dir"]))
    assert worker_dir != trained.run_dir and trained.run_dir not in worker_dir.parents
    assert not bool(trained.worker1["write_dir_exists"]) and not worker_dir.exists()
    written = sorted(p.relative_to(trained.run_dir).as_posix() for p in trained.run_dir.rglob("*"))
    assert written == ["checkpoints", "checkpoints/checkpoint", "checkpoints/ckpt-1.data-00000-of-00001",
                       "checkpoints/ckpt-1.index"]


@pytest.mark.slow  # three train.py processes: about 90 s on 2 loaded cores (the worker-script test above: 23 s)
def test_train_py_on_two_workers_writes_one_run_folder_equal_to_one_process(tmp_path):
    """The command line end to end: two `train.py --strategy multi-worker` processes and one default process on
    the same data and global batch; the chief's run folder is complete, nothing of worker 1 is left, and the
    exported generators agree."""
    import keras

    from tests.helpers import write_fer_csv

    data = write_fer_csv(tmp_path / "fer.csv", 64)
    ports = free_ports(2)
    cluster = {"worker": [f"localhost:{port}" for port in ports]}
    common = [sys.executable, str(REPO_ROOT / "train.py"), "--dataset", "fer2013", "--data", str(data), "--gf", "8",
              "--df", "8", "-batch_size", "16", "--d-g-ratio", "2", "-sample_interval", "2", "--max-steps", "5",
              "--log-style", "quiet", "--no-flip"]
    jobs = {f"worker{i}": {"command": [*common, "--strategy", "multi-worker", "--out", str(tmp_path / "two")],
                           "tf_config": tf_config(cluster, "worker", i)} for i in range(2)}
    jobs["single"] = {"command": [*common, "--out", str(tmp_path / "one")]}
    before = set(Path(os.environ.get("TMPDIR", "/tmp")).glob("ccyclegan-worker-*"))
    run_processes(jobs, tmp_path)
    for name in ("config.json", "train_log.csv", "summary.json", "generator.keras", "discriminator.keras"):
        assert (tmp_path / "two" / name).exists(), name
    assert json.loads((tmp_path / "two" / "config.json").read_text())["_run"]["strategy"] == "multi-worker"
    assert set(Path(os.environ.get("TMPDIR", "/tmp")).glob("ccyclegan-worker-*")) == before
    import models.ccyclegan  # noqa: F401  (the custom layers)

    two = keras.models.load_model(tmp_path / "two" / "generator.keras")
    one = keras.models.load_model(tmp_path / "one" / "generator.keras")
    for a, b in zip(two.get_weights(), one.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-3, atol=1e-5)
