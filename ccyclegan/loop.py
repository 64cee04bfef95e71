"""The training loop every family shares.

A family's trainer supplies what is specific to it: the checkpointed objects (models, optimizers, its own state
variables), a function that yields one epoch's batches, the step function, the CSV columns, and optionally a console
line, a sample grid and an end-of-epoch hook. The loop owns everything else:

- the step counter (`step` = completed iterations; its epoch and batch follow from the settings, in stages whose
  epoch sizes may differ), kept with `epoch` (and `stage`) inside a `tf.train.Checkpoint` with the trainer's objects;
- `resume()`: restores the latest checkpoint and continues exactly: the epoch's data are rebuilt from the seed and the
  batches already consumed are skipped, and CSV rows written after the checkpoint are dropped, so the log has
  neither a gap nor a duplicate;
- a progress bar, or the original console line, or nothing; a CSV log (appended and flushed row by row);
  TensorBoard scalars and sample grids; sample PNGs every `sample_interval` batches (batch_i % interval == 0, as the
  originals); checkpoints every `checkpoint_interval` steps and at the end;
- the non-finite guard: a NaN or Inf in any value a step returns (logged or not) stops the run with
  `NonFiniteLossError` *before* anything is saved, so the last checkpoint on disk is the last good one;
- TensorBoard tags namespaced by network (`d/gan_loss`, `g/cl_loss`, ...; see `tensorboard_tag`) and each
  optimizer's learning rate as `lr/<name>`;
- under multi-worker training only the chief writes the log, TensorBoard and samples; every worker saves
  checkpoints (saving is collective), the others into a private folder (`ccyclegan.distribute`).
"""

from __future__ import annotations

import csv
import math
import os
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import tensorflow as tf

from ccyclegan.atomic import atomic_output
from ccyclegan.viz import save_png

LOG_STYLES = ("bar", "original", "quiet")
LOOP_COLUMNS = ("step", "epoch", "batch")  # the CSV columns the loop fills


class NonFiniteLossError(RuntimeError):
    """A loss became NaN or infinite; the run stopped and nothing from that step was saved."""


@dataclass
class StepResult:
    """What a step returns when it is not a plain logged mapping: values the loop checks for NaN/Inf, and whether
    they go into the log (the CCycleGAN original logs only the iterations that update G)."""

    values: Mapping
    log: bool = True


@dataclass(frozen=True)
class Stage:
    """A part of a run with its own length and epoch size (e.g. progressive training: 15 epochs at 48 px, then 25
    at 64 px with another batch size). `name` is for messages (e.g. "48px")."""

    epochs: int
    steps_per_epoch: int
    name: str = ""

    def __post_init__(self):
        if self.epochs < 1 or self.steps_per_epoch < 1:
            raise ValueError(f"stage {self.name or ''}: epochs ({self.epochs}) and steps per epoch "
                             f"({self.steps_per_epoch}) must be >= 1")


@dataclass(frozen=True)
class Position:
    """Where a global step falls: its stage, its epoch (counted over the whole run) and its batch in that epoch."""

    stage: int
    epoch: int
    batch: int
    steps_per_epoch: int


@dataclass
class LoopSettings:
    """How long a run is and how it reports. `stages` (optional) split the run into parts with their own epoch
    count and epoch size; without them the run is one stage of `epochs` x `steps_per_epoch`."""

    epochs: int
    steps_per_epoch: int
    max_steps: int | None = None  # stop after this many steps in total (smoke runs); None = all epochs
    time_limit: float | None = None  # seconds of training in this call; then a checkpoint, and --resume continues
    sample_interval: int = 0  # 0 = no samples
    checkpoint_interval: int = 0  # in steps; 0 = only at the end of each epoch and of the run
    keep_checkpoints: int = 2
    log_style: str = "bar"
    tensorboard: bool = True
    stages: tuple = ()

    @classmethod
    def staged(cls, stages, **options) -> LoopSettings:
        """Settings of a run in `stages` (Stage objects, in order)."""
        stages = tuple(stages)
        if not stages:
            raise ValueError("a staged run needs at least one stage")
        return cls(epochs=sum(s.epochs for s in stages), steps_per_epoch=stages[0].steps_per_epoch,
                   stages=stages, **options)

    def __post_init__(self):
        if self.epochs < 1 or self.steps_per_epoch < 1:
            raise ValueError(f"epochs ({self.epochs}) and steps per epoch ({self.steps_per_epoch}) must be >= 1")
        if not self.stages:
            self.stages = (Stage(self.epochs, self.steps_per_epoch),)
        elif self.epochs != sum(s.epochs for s in self.stages):
            raise ValueError(f"epochs ({self.epochs}) must be the stages' total ({sum(s.epochs for s in self.stages)})")
        if self.max_steps is not None and self.max_steps < 1:
            raise ValueError(f"max_steps must be >= 1, got {self.max_steps}")
        if self.time_limit is not None and not self.time_limit > 0:
            raise ValueError(f"time_limit must be > 0 seconds, got {self.time_limit}")
        if self.sample_interval < 0 or self.checkpoint_interval < 0:
            raise ValueError("sample and checkpoint intervals must be >= 0")
        if self.log_style not in LOG_STYLES:
            raise ValueError(f"log style must be one of {LOG_STYLES}, got {self.log_style!r}")

    @property
    def planned_steps(self) -> int:
        return sum(s.epochs * s.steps_per_epoch for s in self.stages)

    @property
    def total_steps(self) -> int:
        return self.planned_steps if self.max_steps is None else min(self.planned_steps, self.max_steps)

    def position(self, step: int) -> Position:
        """The stage, epoch and batch of global step `step` (the step after the last one is the end of the last
        stage's last epoch)."""
        epochs_before = 0
        for index, stage in enumerate(self.stages):
            length = stage.epochs * stage.steps_per_epoch
            if step < length or index == len(self.stages) - 1:
                epoch, batch = divmod(step, stage.steps_per_epoch)
                return Position(index, epochs_before + epoch, batch, stage.steps_per_epoch)
            step -= length
            epochs_before += stage.epochs
        raise AssertionError("unreachable")


@dataclass
class LoopResult:
    steps: int  # completed steps in total (including those before a resume)
    epochs_completed: int
    last_row: dict | None
    seconds: float
    stopped_early: bool  # an end-of-epoch hook asked to stop
    out_of_time: bool = False  # the time limit ended this call before the planned steps (a checkpoint was written)


class CsvLog:
    """The CSV training log: one row per logged step, written and flushed as it happens."""

    def __init__(self, path: Path, columns: Sequence[str], enabled: bool = True):
        self.path, self.columns, self.enabled = path, list(columns), enabled

    def truncate_after(self, keep: Callable[[dict], bool]) -> int:
        """Keep only the rows for which `keep(row)` is true (used on resume); returns how many were dropped.

        The file is rewritten under a temporary name and renamed, so a crash here cannot lose the kept rows.
        """
        if not self.enabled or not self.path.exists():
            return 0
        with self.path.open(newline="") as handle:
            rows = list(csv.DictReader(handle))
        kept = [row for row in rows if keep(row)]
        with atomic_output(self.path) as temporary, temporary.open("w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=self.columns, extrasaction="ignore")
            writer.writeheader()
            writer.writerows(kept)
        return len(rows) - len(kept)

    def append(self, row: Mapping) -> None:
        if not self.enabled:
            return
        new_file = not self.path.exists()
        with self.path.open("a", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=self.columns, extrasaction="ignore")
            if new_file:
                writer.writeheader()
            writer.writerow({column: row.get(column, "") for column in self.columns})

    def read(self) -> list[dict]:
        if not self.path.exists():
            return []
        with self.path.open(newline="") as handle:
            return list(csv.DictReader(handle))


def _scalar(value):
    return float(value.numpy()) if hasattr(value, "numpy") else float(value)


def _row_step(row: Mapping, steps_per_epoch: int) -> int:
    """A CSV row's step (logs written before the `step` column existed have epoch and batch only)."""
    if row.get("step") not in (None, ""):
        return int(row["step"])
    return int(row["epoch"]) * steps_per_epoch + int(row["batch"])


def tensorboard_tag(name: str) -> str:
    """The TensorBoard tag of a logged value: `d_gan_loss` -> `d/gan_loss`, `g_cl_loss` -> `g/cl_loss`, anything
    else (e.g. `reconstr_loss`, `loss`) under `train/`, so that each network's curves sit in one panel group."""
    head, _, rest = name.partition("_")
    if head in ("d", "g") and rest:
        return f"{head}/{rest}"
    return name if "/" in name else f"train/{name}"


def check_finite(values: Mapping, where: str, checkpoint_dir: str | os.PathLike | None = None) -> dict:
    """Convert logged values to floats; raise `NonFiniteLossError` naming every NaN/Inf value and where it arose."""
    floats = {name: _scalar(value) for name, value in values.items()}
    bad = {name: value for name, value in floats.items() if not math.isfinite(value)}
    if bad:
        kept = f"; stopped without saving, so the latest checkpoint in {checkpoint_dir} is the last good state" \
            if checkpoint_dir else ""
        raise NonFiniteLossError(f"non-finite {', '.join(f'{k}={v}' for k, v in bad.items())} at {where}{kept}")
    return floats


class TrainingLoop:
    """Runs a trainer's step function over epochs with logging, samples, checkpoints, resume and a NaN guard.

    make_epoch_data(epoch) -> an iterable of batches for that epoch, deterministic given the epoch (so a resumed run
        sees the same batches); train_step(batch, epoch, batch_index) -> a mapping of values to log, or None when the
        step logs nothing (the CCycleGAN original logs only G-update steps).
    log_columns: the CSV columns; `step`, `epoch` and `batch` are filled by the loop (step = iterations completed
        before this one, so resume keeps the rows with step < the checkpoint's step).
    optimizers: name -> optimizer, whose learning rates are logged to TensorBoard as `lr/<name>`.
    tags: log column -> TensorBoard tag, for columns `tensorboard_tag` would file under `train/` (e.g. a generator's
        `reconstr_loss` -> `g/reconstr_loss`).
    chief: False on the non-chief workers of multi-worker training: no CSV, TensorBoard or samples, and
        checkpoints into `run_dir` (which is then a private folder of that worker).
    on_stage_start(stage index): called when a stage begins, and on resume for the stage the run continues in
        (e.g. to rebuild a dataset at the stage's image size). The data and step functions get the global epoch;
        `settings.position(step)` says which stage it is in. The stage index is kept in the checkpoint and the CSV.
    format_line(row) -> the console line for style "original".
    sample(epoch, batch_index) -> a uint8 image (the sample grid) written to `samples/{epoch}_{batch}.png`.
    on_epoch_end(epoch) -> (values to print, stop?) e.g. a validation score and an early-stopping decision.
    """

    def __init__(
        self,
        run_dir: str | os.PathLike,
        settings: LoopSettings,
        *,
        trackables: Mapping[str, object],
        make_epoch_data: Callable[[int], Iterable],
        train_step: Callable[[object, int, int], Mapping | None],
        log_columns: Sequence[str],
        format_line: Callable[[Mapping], str] | None = None,
        sample: Callable[[int, int], np.ndarray] | None = None,
        on_epoch_end: Callable[[int], tuple[Mapping, bool]] | None = None,
        optimizers: Mapping[str, object] | None = None,
        tags: Mapping[str, str] | None = None,
        chief: bool = True,
        on_stage_start: Callable[[int], None] | None = None,
    ):
        self.run_dir = Path(run_dir)
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self.settings = settings
        self.optimizers, self.tags, self.chief = dict(optimizers or {}), dict(tags or {}), chief
        self.on_stage_start = on_stage_start
        self.make_epoch_data, self.train_step = make_epoch_data, train_step
        self.format_line, self.sample, self.on_epoch_end = format_line, sample, on_epoch_end
        self.step = tf.Variable(0, dtype=tf.int64, trainable=False, name="step")
        self.epoch = tf.Variable(0, dtype=tf.int64, trainable=False, name="epoch")
        staged, self.stage = {}, None
        if len(settings.stages) > 1:  # single-stage runs keep the checkpoint layout they always had
            self.stage = tf.Variable(0, dtype=tf.int64, trainable=False, name="stage")
            staged = {"stage": self.stage}
        self.checkpoint = tf.train.Checkpoint(step=self.step, epoch=self.epoch, **staged, **trackables)
        self.manager = tf.train.CheckpointManager(
            self.checkpoint, self.run_dir / "checkpoints", max_to_keep=settings.keep_checkpoints
        )
        self.loop_columns = LOOP_COLUMNS + (("stage",) if staged else ())
        self.log = CsvLog(self.run_dir / "train_log.csv",
                          [*self.loop_columns, *[c for c in log_columns if c not in self.loop_columns]], enabled=chief)
        self.writer = tf.summary.create_file_writer(str(self.run_dir / "tensorboard")) \
            if settings.tensorboard and chief else None
        self._saved_step = None

    # -- resume ---------------------------------------------------------------------------------------------------
    def resume(self, checkpoint: str | None | bool = True) -> int:
        """Restore a checkpoint and drop later CSV rows; returns the step to continue from.

        checkpoint: a checkpoint prefix (e.g. the newest intact one `ccyclegan.run` found), None to start over, or
        True for the manager's latest.
        """
        latest = self.manager.latest_checkpoint if checkpoint is True else checkpoint
        if latest is None:  # stopped before its first checkpoint: start over, without the rows of that attempt
            dropped = self.log.truncate_after(lambda row: False)
            print(f"No checkpoint in {self.manager.directory} yet: starting from step 0 (dropped {dropped} log rows)")
            return 0
        self.checkpoint.restore(latest).assert_existing_objects_matched()
        done = int(self.step.numpy())
        self._saved_step = done
        spe = self.settings.steps_per_epoch
        dropped = self.log.truncate_after(lambda row: _row_step(row, spe) < done)
        where = self.settings.position(done)
        stage = f"stage {where.stage + 1} of {len(self.settings.stages)}, " if len(self.settings.stages) > 1 else ""
        print(f"Resumed from {latest} at step {done} ({stage}epoch {where.epoch}, batch {where.batch}); "
              f"dropped {dropped} log rows written after that checkpoint")
        return done

    def save(self) -> str:
        """Write a checkpoint for the current step (once: a second call at the same step is a no-op)."""
        step = int(self.step.numpy())
        if self._saved_step != step:
            where = self.settings.position(step)
            self.epoch.assign(where.epoch)
            if self.stage is not None:
                self.stage.assign(where.stage)
            self.manager.save(checkpoint_number=step)
            self._saved_step = step
        return self.manager.latest_checkpoint

    # -- the loop --------------------------------------------------------------------------------------------------
    def run(self) -> LoopResult:
        settings = self.settings
        total = settings.total_steps
        start_step = int(self.step.numpy())
        started = time.time()
        last_row, stopped_early, out_of_time, current_stage = None, False, False, None
        bar = self._progress_bar(start_step, total)
        step = start_step
        try:
            while step < total:
                where = settings.position(step)
                epoch, first_batch, spe = where.epoch, where.batch, where.steps_per_epoch
                if where.stage != current_stage:  # the first stage of this call, or the next one
                    current_stage = where.stage
                    if self.on_stage_start is not None:
                        self.on_stage_start(where.stage)
                batches = iter(self.make_epoch_data(epoch))
                for _ in range(first_batch):  # resume mid-epoch: the same batches, skipped
                    next(batches)
                epoch_done = False
                for batch_index in range(first_batch, spe):
                    if step >= total:
                        break
                    row = self._run_step(next(batches), epoch, batch_index, started, step, where.stage)
                    step += 1
                    self.step.assign(step)
                    if row is not None:
                        last_row = row
                        self._report(row, step, bar)
                    if bar is not None:
                        bar.update(1)
                    if settings.sample_interval and self.sample and batch_index % settings.sample_interval == 0:
                        self._write_sample(epoch, batch_index, step)
                    if settings.checkpoint_interval and step % settings.checkpoint_interval == 0 and step < total:
                        self.save()
                    epoch_done = batch_index == spe - 1
                    if settings.time_limit and step < total and time.time() - started >= settings.time_limit:
                        out_of_time = True
                        break
                if out_of_time:
                    self._print(f"Time limit of {settings.time_limit / 60:g} min reached at step {step} of {total}; "
                                f"checkpoint written (continue with the same command plus --resume)", bar)
                    break
                if epoch_done:
                    if self.on_epoch_end is not None:
                        values, stop = self.on_epoch_end(epoch)
                        self._print(f"[Epoch {epoch}] " + ", ".join(f"{k}: {v:.4f}" for k, v in values.items()), bar)
                        self._tensorboard(values, step)
                        if stop:
                            stopped_early = True
                            self.save()
                            break
                    self.save()
            self.save()
        finally:
            if bar is not None:
                bar.close()
            if self.writer is not None:
                self.writer.flush()
        return LoopResult(step, settings.position(step).epoch, last_row, time.time() - started, stopped_early,
                          out_of_time)

    def _run_step(self, batch, epoch: int, batch_index: int, started: float, step: int,
                  stage: int) -> dict | None:
        """One step; every value it returns is checked for NaN/Inf, logged or not. Returns the log row, if any."""
        result = self.train_step(batch, epoch, batch_index)
        if result is None:
            return None
        if not isinstance(result, StepResult):
            result = StepResult(result)
        values = check_finite(result.values, f"epoch {epoch}, batch {batch_index}", self.manager.directory)
        if not result.log:
            return None
        row = {"step": step, "epoch": epoch, "batch": batch_index}
        if self.stage is not None:
            row["stage"] = stage
        row.update(values)
        row["elapsed"] = time.time() - started
        return row

    def _report(self, row: dict, step: int, bar) -> None:
        self.log.append(row)
        values = {k: v for k, v in row.items() if k not in (*self.loop_columns, "elapsed")}  # the step's own
        self._tensorboard(values, step)
        self._tensorboard_learning_rates(step)
        if self.settings.log_style == "original" and self.format_line is not None:
            self._print(self.format_line(row), bar)
        elif bar is not None:
            bar.set_postfix({k: f"{v:.3f}" for k, v in values.items()}, refresh=False)

    def _write_sample(self, epoch: int, batch_index: int, step: int) -> None:
        if not self.chief:
            return
        grid = self.sample(epoch, batch_index)
        save_png(grid, self.run_dir / "samples" / f"{epoch}_{batch_index}.png")
        if self.writer is not None:
            with self.writer.as_default(step=step):
                tf.summary.image("samples", grid[None], max_outputs=1)

    def _tensorboard(self, values: Mapping, step: int) -> None:
        if self.writer is None:
            return
        with self.writer.as_default(step=step):
            for name, value in values.items():
                tf.summary.scalar(self.tags.get(name) or tensorboard_tag(name), value)

    def _tensorboard_learning_rates(self, step: int) -> None:
        """Each optimizer's current rate (a schedule's value at the optimizer's own update count) as `lr/<name>`."""
        if self.writer is None or not self.optimizers:
            return
        import keras

        with self.writer.as_default(step=step):
            for name, optimizer in self.optimizers.items():
                tf.summary.scalar(f"lr/{name}", float(keras.ops.convert_to_numpy(optimizer.learning_rate)))

    def _progress_bar(self, start: int, total: int):
        if self.settings.log_style != "bar":
            return None
        from tqdm import tqdm

        return tqdm(total=total, initial=start, unit="step", dynamic_ncols=True, mininterval=2.0)

    @staticmethod
    def _print(text: str, bar) -> None:
        if bar is not None:
            bar.write(text)
        else:
            print(text, flush=True)
