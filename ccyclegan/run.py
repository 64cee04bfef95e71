"""Run folders every family shares, built so that a run cannot lose work.

A run folder holds one run: `config.json` (the resolved config, plus under `"_run"` what is not in it: dataset,
data path, strategy, precision, TensorFlow/Keras versions, the command), `train_log.csv`, `tensorboard/`,
`samples/`, `checkpoints/`, the exported models (`.keras`, written under a temporary name and renamed) and
`summary.json`. The rules:

- Everything is validated before anything is created (`RunFolder.prepare`), so a command that fails before its
  first step leaves nothing behind and the corrected command is not refused.
- `--resume` compares the new settings with the saved ones before touching anything: what a family declares
  resumable (e.g. more epochs) is accepted and said; every other difference is refused, naming each setting with
  its saved and new value. `config.json` is rewritten only after the checkpoint has been restored.
- Resume finds the newest intact checkpoint from the files themselves (`intact_checkpoints`), says which one and
  why, repairs a damaged `checkpoints/checkpoint` index to list only intact checkpoints, and never deletes a
  checkpoint it did not supersede. Leftover temporary files of a killed save are removed on the next start.
- `fit(job, settings, run, resume)` is the one training entry every family's `train` calls.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import shutil
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ccyclegan.atomic import atomic_output
from ccyclegan.errors import UsageError

CONFIG_FILE = "config.json"
SUMMARY_FILE = "summary.json"
CHECKPOINT_DIR = "checkpoints"
CHECKPOINT_STATE = "checkpoint"  # TensorFlow's index of the checkpoints in CHECKPOINT_DIR
RUN_KEY = "_run"  # the part of config.json that is not the family's config
DATA_CONTEXT = ("dataset", "data", "data_options")  # context entries a resumed run must share (the same data)
_CHECKPOINT_INDEX = re.compile(r"^ckpt-(\d+)\.index$")
# What TensorFlow's savers and save_model_atomic leave behind when a process dies in the middle of a save.
_LEFTOVER_PATTERNS = ("*_temp", "*_temp_*", "*.tmp*", "*.tempstate*", ".*.keras.tmp-*.keras")


def config_dict(config) -> dict:
    """A config dataclass (or mapping) as JSON-ready plain values (tuples become lists)."""
    values = dataclasses.asdict(config) if dataclasses.is_dataclass(config) else dict(config)
    return json.loads(json.dumps(values, default=str))


def config_defaults(config) -> dict:
    """The JSON-ready default of every field of a config dataclass that has one (nothing for a mapping)."""
    if not dataclasses.is_dataclass(config):
        return {}
    values = {}
    for item in dataclasses.fields(config):
        if item.default is not dataclasses.MISSING:
            values[item.name] = item.default
        elif item.default_factory is not dataclasses.MISSING:
            values[item.name] = item.default_factory()
    return json.loads(json.dumps(values, default=str))


def read_config(run_dir: str | os.PathLike) -> tuple[dict, dict]:
    """(the family's config, the run context) saved in a run folder's config.json."""
    path = Path(run_dir) / CONFIG_FILE
    if not path.is_file():
        raise UsageError(f"{path}: no such file; {Path(run_dir)} is not a run folder of `python train.py`")
    try:
        saved = json.loads(path.read_text())
    except (ValueError, UnicodeDecodeError) as error:
        raise UsageError(f"{path}: not readable JSON ({error})") from None
    context = saved.pop(RUN_KEY, {})
    return saved, context


def _write_json_atomic(path: Path, values: Mapping) -> None:
    with atomic_output(path) as temporary:
        temporary.write_text(json.dumps(values, indent=2, default=float))


# -- checkpoints -----------------------------------------------------------------------------------------------------
def checkpoint_steps(checkpoint_dir: str | os.PathLike) -> list[int]:
    """The steps of the checkpoints whose index file is in the folder, newest first."""
    folder = Path(checkpoint_dir)
    if not folder.is_dir():
        return []
    steps = [int(m.group(1)) for p in folder.iterdir() if (m := _CHECKPOINT_INDEX.match(p.name))]
    return sorted(steps, reverse=True)


def checkpoint_problem(prefix: str | os.PathLike) -> str | None:
    """Why the checkpoint at `prefix` cannot be restored (index unreadable, a data file missing or truncated), or
    None when every saved tensor reads back."""
    import tensorflow as tf

    try:
        reader = tf.train.load_checkpoint(str(prefix))
        for name in reader.get_variable_to_shape_map():
            reader.get_tensor(name)
    except Exception as error:  # noqa: BLE001 (any failure to read means: not intact)
        return str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    return None


def intact_checkpoints(checkpoint_dir: str | os.PathLike) -> tuple[list[str], dict[str, str]]:
    """(prefixes of the intact checkpoints, newest first; {prefix: problem} of the damaged ones)."""
    intact, damaged = [], {}
    for step in checkpoint_steps(checkpoint_dir):
        prefix = str(Path(checkpoint_dir) / f"ckpt-{step}")
        problem = checkpoint_problem(prefix)
        if problem is None:
            intact.append(prefix)
        else:
            damaged[prefix] = problem
    return intact, damaged


def _state_file_lists(checkpoint_dir: Path) -> list[str] | None:
    """The checkpoints TensorFlow's index file lists, or None when the file is missing or unreadable."""
    import tensorflow as tf

    try:
        state = tf.train.get_checkpoint_state(str(checkpoint_dir))
    except Exception:  # noqa: BLE001 (garbage, binary or half-written index)
        return None
    if state is None:
        return None
    return [os.path.basename(p) for p in state.all_model_checkpoint_paths] or [os.path.basename(
        state.model_checkpoint_path)]


def repair_checkpoint_state(checkpoint_dir: str | os.PathLike, intact: Sequence[str]) -> bool:
    """Rewrite TensorFlow's checkpoint index to list exactly the intact checkpoints (oldest first) when it does not
    already; returns True if it was rewritten. Without this a damaged index makes the CheckpointManager forget the
    checkpoints, start from step 0 and later delete them as "old"."""
    folder = Path(checkpoint_dir)
    wanted = [os.path.basename(p) for p in reversed(intact)]
    if not wanted or _state_file_lists(folder) == wanted:
        return False
    # TensorFlow's CheckpointState text format, with paths relative to the folder as CheckpointManager writes them.
    lines = [f'model_checkpoint_path: "{wanted[-1]}"'] + [f'all_model_checkpoint_paths: "{n}"' for n in wanted]
    temporary = folder / f".{CHECKPOINT_STATE}.repair-{os.getpid()}"
    temporary.write_text("\n".join(lines) + "\n")
    os.replace(temporary, folder / CHECKPOINT_STATE)
    return True


def remove_leftovers(run_dir: str | os.PathLike) -> list[Path]:
    """Delete the temporary files and folders a killed save leaves in the run folder and its checkpoints."""
    removed = []
    for folder in (Path(run_dir), Path(run_dir) / CHECKPOINT_DIR):
        if not folder.is_dir():
            continue
        for pattern in _LEFTOVER_PATTERNS:
            for path in folder.glob(pattern):
                if path.is_dir():
                    shutil.rmtree(path, ignore_errors=True)
                else:
                    path.unlink(missing_ok=True)
                removed.append(path)
    return sorted(set(removed))


def checkpoint_objects(networks: Mapping[str, object], optimizers: Mapping[str, object]) -> dict:
    """What a trainer's checkpoint holds: its networks by name and each optimizer as `<name>_optimizer`, the one
    naming rule every family's checkpoints (and `restore_networks`) rely on."""
    return {**networks, **{f"{name}_optimizer": optimizer for name, optimizer in optimizers.items()}}


class CriticAndGeneratorOptimizers:
    """A trainer with one optimizer for its critics (`d_optimizer`) and one for its generators (`g_optimizer`): what
    the loop saves and restores. The subclass gives `networks`, its networks by checkpoint name."""

    warmup_optimizer = None  # set by make_warmup_optimizer when the run warms the critic's AU head up
    weight_average = None  # a `ccyclegan.averaging.WeightAverage` of the generator, when the run keeps one

    @property
    def optimizers(self) -> dict:
        warmup = {} if self.warmup_optimizer is None else {"d_warmup": self.warmup_optimizer}
        return {"d": self.d_optimizer, "g": self.g_optimizer, **warmup}

    def make_warmup_optimizer(self, variables, learning_rate: float, beta_1: float, beta_2: float,
                              epsilon: float = 1e-7):
        """An Adam of its own for the critic's AU warm-up (`--critic-warmup`), built on `variables`.

        Why not the critic's: Adam scales each step by the gradient's running second moment. After a warm-up on the
        AU regression alone that moment is the small one of a converged regression for the trunk, and zero for the
        real/fake head, so the adversarial game's first, larger gradients take steps many times the learning rate
        for hundreds of iterations and wipe out what the warm-up taught (measured on the AU family: the head's
        held-out error went from 0.113 to 0.215 in 100 critic steps with the warm-up's Adam, and to 0.104 with a
        fresh one). The game's optimizer starts fresh instead.
        """
        import keras

        self.warmup_optimizer = keras.optimizers.Adam(learning_rate, beta_1, beta_2, epsilon)
        self.warmup_optimizer.build(list(variables))
        return self.warmup_optimizer

    def generator_average_in(self):
        """A block in which the generator holds its weight average, when the run keeps one (samples, exports)."""
        import contextlib

        return contextlib.nullcontext() if self.weight_average is None else self.weight_average.swapped_in()

    @property
    def trackables(self) -> dict:
        """Everything the checkpoint holds: the networks, each optimizer (as `<name>_optimizer`) and the generator's
        weight average when there is one."""
        from ccyclegan.averaging import CHECKPOINT_NAME

        average = {} if self.weight_average is None else {CHECKPOINT_NAME: self.weight_average.state}
        return {**checkpoint_objects(self.networks, self.optimizers), **average}


class SplitGeneratorNetworks(CriticAndGeneratorOptimizers):
    """A trainer of a split generator (encoder `encoder`, decoder `decoder`) and a critic `discriminator`: CCycleGAN's
    and the AU family's."""

    @property
    def generator_variables(self):
        return self.encoder.trainable_variables + self.decoder.trainable_variables

    @property
    def networks(self) -> dict:
        """The networks by their checkpoint names (the one place these names are written)."""
        return {"G_enc": self.encoder, "G_dec": self.decoder, "D": self.discriminator}


def restore_networks(run_dir: str | os.PathLike, networks: Mapping[str, object]) -> str:
    """Restore `networks` (checkpoint name -> Keras model, the family's own names) from the newest intact
    checkpoint of a run folder, asserting that every one of them was found there; returns the checkpoint used."""
    import tensorflow as tf

    checkpoint_dir = Path(run_dir) / CHECKPOINT_DIR
    intact, damaged = intact_checkpoints(checkpoint_dir)
    if not intact:
        detail = "; ".join(f"{Path(p).name}: {why}" for p, why in damaged.items()) or "none was written yet"
        raise UsageError(f"{checkpoint_dir}: no intact checkpoint to restore ({detail})")
    try:
        tf.train.Checkpoint(**networks).read(intact[0]).assert_existing_objects_matched().expect_partial()
    except AssertionError as error:
        raise UsageError(f"{intact[0]}: does not hold the networks {', '.join(networks)} of this family "
                         f"({str(error).splitlines()[0]})") from None
    return intact[0]


# -- the run folder ---------------------------------------------------------------------------------------------------
@dataclass
class RunFolder:
    """One run's folder: validated before creation, compared on resume, written only by the chief.

    config: the family's resolved config (a dataclass). context: what is not in it but defines the run (dataset,
    data path, strategy, precision); its DATA_CONTEXT entries (dataset, data, data_options) must match on
    resume, the rest is informational.
    resumable: config fields that may differ on resume (each accepted change is printed).
    """

    path: Path
    config: object
    context: dict = field(default_factory=dict)
    resume: bool = False
    resumable: Iterable[str] = ()
    strategy: object = None
    _writable: Path | None = None

    def __post_init__(self):
        self.path = Path(self.path)
        self.resumable = tuple(self.resumable)

    @property
    def chief(self) -> bool:
        from ccyclegan.distribute import is_chief

        return is_chief(self.strategy)

    @property
    def writable(self) -> Path:
        """Where this process writes: the run folder on the chief, a private folder on other workers."""
        if self._writable is None:
            raise RuntimeError("RunFolder.create() first")
        return self._writable

    # -- before anything is written ---------------------------------------------------------------------------------
    def prepare(self) -> list[str]:
        """Check that the run can start here; returns the accepted changes of a resume (nothing is written)."""
        path = self.path
        if path.exists() and not path.is_dir():
            raise UsageError(f"{path}: --out names an existing file, not a folder; choose another --out")
        if not self.resume:
            if path.is_dir() and any(path.iterdir()):
                raise FileExistsError(f"{path} already holds a run; pass --resume to continue it or choose another "
                                      f"--out")
            return []
        if not path.is_dir():
            raise UsageError(f"{path}: --resume needs an existing run folder")
        saved, saved_context = read_config(path)
        new = config_dict(self.config)
        refused, accepted = [], []
        defaults = config_defaults(self.config)
        for name in sorted(set(saved) | set(new)):
            # A run saved before a setting existed ran with that setting's default.
            old_value = saved.get(name, defaults.get(name, "(not set)"))
            new_value = new.get(name, "(not set)")
            if old_value != new_value:
                (accepted if name in self.resumable else refused).append(f"{name}: saved {old_value}, now {new_value}")
        for name in DATA_CONTEXT:
            if name in saved_context and saved_context.get(name) != self.context.get(name):
                refused.append(f"{name}: saved {saved_context.get(name)}, now {self.context.get(name)}")
        if refused:
            raise UsageError(f"{path}: --resume with settings that differ from the run's: {'; '.join(refused)}. "
                             f"Resume with the run's settings (see {path / CONFIG_FILE}) or start a new run with "
                             f"another --out")
        for change in accepted:
            print(f"Resuming {path} with a change it accepts: {change}")
        return accepted

    # -- writing -----------------------------------------------------------------------------------------------------
    def create(self) -> Path:
        """Make the folder (chief) or this worker's private folder, and remove what a killed save left behind."""
        from ccyclegan.distribute import writable_run_dir

        self._writable = Path(writable_run_dir(self.path, self.strategy))
        self._writable.mkdir(parents=True, exist_ok=True)
        removed = remove_leftovers(self._writable)
        if removed and self.chief:
            print(f"Removed {len(removed)} leftover temporary file(s) of an interrupted save: "
                  + ", ".join(p.name for p in removed))
        return self._writable

    def checkpoint_to_resume(self) -> str | None:
        """The newest intact checkpoint of the run folder (None: none yet), after repairing a damaged index."""
        checkpoint_dir = self.path / CHECKPOINT_DIR
        intact, damaged = intact_checkpoints(checkpoint_dir)
        for prefix, problem in damaged.items():
            print(f"Checkpoint {prefix} is damaged ({problem}); not using it")
        if not intact:
            if damaged:
                raise UsageError(f"{checkpoint_dir}: no intact checkpoint to resume from; damaged: "
                                 + "; ".join(f"{Path(p).name} ({why})" for p, why in damaged.items()))
            return None
        if self.chief and repair_checkpoint_state(checkpoint_dir, intact):
            print(f"Rewrote {checkpoint_dir / CHECKPOINT_STATE} from the checkpoint files: it did not list the "
                  f"intact checkpoints {', '.join(Path(p).name for p in intact)}")
        if damaged:
            print(f"Resuming from {intact[0]}, the newest intact checkpoint")
        return intact[0]

    def write_config(self) -> Path:
        import keras
        import tensorflow as tf

        values = config_dict(self.config)
        values[RUN_KEY] = {**json.loads(json.dumps(self.context, default=str)), "tensorflow": tf.__version__,
                           "keras": keras.__version__, "python": sys.version.split()[0],
                           "command": " ".join(sys.argv)}
        path = self.writable / CONFIG_FILE
        _write_json_atomic(path, values)
        return path

    def write_summary(self, summary: Mapping) -> Path:
        path = self.writable / SUMMARY_FILE
        _write_json_atomic(path, summary)
        return path

    def export(self, models: Mapping[str, object]) -> dict[str, str]:
        """Save each model as `<name>` (a .keras file name) atomically; returns name -> path."""
        from ccyclegan.modelio import save_model_atomic

        return {name: str(save_model_atomic(model, self.writable / name)) for name, model in models.items()}

    def close(self) -> None:
        """Remove a non-chief worker's private folder (nothing on the chief)."""
        from ccyclegan.distribute import remove_worker_dir

        if self._writable is not None:
            remove_worker_dir(self._writable, self.strategy)


# -- training ---------------------------------------------------------------------------------------------------------
@dataclass
class TrainingJob:
    """What a family hands to `fit`: its checkpointed objects, data, step, log and outputs.

    trackables: checkpoint name -> object (networks, optimizers, state variables); the family writes these names
    once, in its trainer. after_restore(step) runs after a resume restored the checkpoint of `step` (e.g. to trim
    a family's own logs). after_run(result) gets the loop's `LoopResult` as soon as training ends, before the
    exports (e.g. to load the best weights an early stopper kept, or to report how the run ended).
    exports() -> {file name: model} saved at the end. finish(run_dir, log_rows) writes anything else (e.g. curves)
    and returns values for the summary.
    """

    trackables: Mapping[str, object]
    make_epoch_data: Callable[[int], Iterable]
    train_step: Callable
    log_columns: Sequence[str]
    format_line: Callable | None = None
    sample: Callable | None = None
    on_epoch_end: Callable | None = None
    optimizers: Mapping[str, object] | None = None
    tags: Mapping[str, str] | None = None
    exports: Callable[[], Mapping[str, object]] | None = None
    finish: Callable[[Path, list], Mapping] | None = None
    after_restore: Callable[[int], None] | None = None
    after_run: Callable[[object], None] | None = None
    on_stage_start: Callable[[int], None] | None = None


def fit(job: TrainingJob, settings, run: RunFolder, *, resume: bool = False) -> dict:
    """Train `job` under the shared loop in `run` (prepared already): restore, then write config.json, run, export
    and summarise. Returns the summary."""
    from ccyclegan.loop import TrainingLoop

    run.create()
    try:
        checkpoint = run.checkpoint_to_resume() if resume else None  # repairs a damaged index before TF reads it
        loop = TrainingLoop(run.writable, settings, trackables=job.trackables, make_epoch_data=job.make_epoch_data,
                            train_step=job.train_step, log_columns=job.log_columns, format_line=job.format_line,
                            sample=job.sample, on_epoch_end=job.on_epoch_end, optimizers=job.optimizers,
                            tags=job.tags, chief=run.chief, on_stage_start=job.on_stage_start)
        if resume:
            done = loop.resume(checkpoint)
            if job.after_restore is not None:
                job.after_restore(done)
        run.write_config()  # only now: a refused or failed restore leaves the saved config as it was
        result = loop.run()
        if job.after_run is not None:
            job.after_run(result)
        exported = run.export(job.exports()) if job.exports is not None else {}
        extra = job.finish(run.writable, loop.log.read()) if job.finish is not None else {}
        summary = {"steps": result.steps, "epochs_completed": result.epochs_completed, "seconds": result.seconds,
                   "stopped_early": result.stopped_early, "out_of_time": result.out_of_time,
                   "last_row": result.last_row, "exports": exported, **(extra or {})}
        run.write_summary(summary)
        return summary
    finally:
        run.close()
