"""What GANimation training needs from TensorLayer: the networks as callables, their variables, and a checkpoint
format that round-trips. Everything else (losses, steps, schedule, data, run folder) is `train/ganimation.py`'s,
shared with the Keras networks; it calls `make_tl_networks(config)` with `--framework tensorlayer`.

TL's own save paths are broken on h5py 3 / numpy 2 (`ccyclegan/tl_compat.py`), so TL networks are checkpointed as
`TLWeights` objects: a `tf.Module` holding the model's variables in build order, which `tf.train.Checkpoint` (and
so the platform's CheckpointManager and exact resume) writes and reads like a Keras model. The exported generator is
the Keras one with the TL weights copied in (same outputs, `tests/test_ganimation_tl.py`), so `animate`, translate
and evaluate read a TL run's `generator.keras` like a Keras run's.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import tensorflow as tf

from ccyclegan import tl_compat
from models.ganimation_tl import build_tl_critic, build_tl_generator, tl_to_keras

# Config fields the networks' shapes come from (train/ganimation.py's GANimationConfig), with the builders' defaults.
SIZE_FIELDS = {"img_size": 128, "channels": 3, "num_aus": 17, "g_conv_dim": 64, "d_conv_dim": 64,
               "g_repeat_num": 6, "d_repeat_num": 6, "upsample": "transpose", "au_condition": "target",
               "skips": False}


class TLWeights(tf.Module):
    """A TL model's variables in build order, as one checkpointable object (TL models are not trackable).

    Restoring needs a model built with the same arguments; a checkpoint of another width or depth fails in
    `tf.train.Checkpoint.restore` with the variable whose shape differs.
    """

    def __init__(self, tl_model, name: str):
        super().__init__(name=name)
        self.variables_in_order = list(tl_model.all_weights)


@dataclass
class TLNetworks:
    """The TL generator and critic behind the interface the shared trainer uses for either framework (the fields
    of train.ganimation.Networks, plus the TL models and their weight files).

    generator(image, aus, training, own=None) -> (composite, attention, colour): image (B, S, S, C) in [-1, 1], aus
        (B, A) the target, own (B, A) the faces' own AUs (needed when conditioned on the change, else ignored);
        composite = attention * image + (1 - attention) * colour, attention (B, S, S, 1), colour (B, S, S, C).
    critic(image, training) -> (critic_map, aus): critic_map (B, S / 2**d, S / 2**d, 1), aus (B, A).
    generator_variables / critic_variables: the trainable variables, for the tape and the optimizers.
    trackables: {"G": ..., "D": ...} for tf.train.Checkpoint (the same names as the Keras networks').
    exports() -> {"generator.keras", "discriminator.keras"}: Keras models holding the TL weights (same outputs).
    keras_generator() / keras_critic(): those Keras models, built now.
    generator_model / critic_model: the TL models themselves.
    sizes: the builders' arguments (img_size, channels, num_aus, width, num_residual / num_down).
    """

    generator_model: Any
    critic_model: Any
    generator_sizes: dict
    critic_sizes: dict
    framework: str = "tensorlayer"

    def __post_init__(self):
        self.generator_variables = list(self.generator_model.trainable_weights)
        self.critic_variables = list(self.critic_model.trainable_weights)
        self.trackables = {"G": TLWeights(self.generator_model, "G"), "D": TLWeights(self.critic_model, "D")}

    def generator(self, image, aus, training: bool = False, own=None):
        from train.ganimation import generator_inputs

        inputs = generator_inputs(self.generator_sizes.get("au_condition", "target"), image, aus, own)
        composite, attention, colour = self.generator_model(inputs, is_train=bool(training))
        return composite, attention, colour

    def critic(self, image, training: bool = False):
        critic_map, aus = self.critic_model(image, is_train=bool(training))
        return critic_map, aus

    def keras_generator(self):
        """A Keras generator (models.ganimation) holding this generator's weights: what a TL run exports."""
        from models.ganimation import build_generator

        model = build_generator(**self.generator_sizes)
        tl_to_keras(self.generator_model, model)
        return model

    def keras_critic(self):
        from models.ganimation import build_critic

        model = build_critic(**self.critic_sizes)
        tl_to_keras(self.critic_model, model)
        return model

    def exports(self) -> dict:
        return {"generator.keras": self.keras_generator(), "discriminator.keras": self.keras_critic()}

    def save(self, folder: str | Path) -> dict[str, Path]:
        """Both networks as `G_tl.npz` / `D_tl.npz` (ordered, shape-checked; ccyclegan.tl_compat.save_weights_npz)."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        return {"G": tl_compat.save_weights_npz(self.generator_model, folder / "G_tl.npz"),
                "D": tl_compat.save_weights_npz(self.critic_model, folder / "D_tl.npz")}

    def load(self, folder: str | Path) -> None:
        folder = Path(folder)
        tl_compat.load_weights_npz(self.generator_model, folder / "G_tl.npz")
        tl_compat.load_weights_npz(self.critic_model, folder / "D_tl.npz")


def network_sizes(config) -> tuple[dict, dict]:
    """(generator kwargs, critic kwargs): GANimationConfig.architecture, or for another config object its size
    fields (SIZE_FIELDS; a missing field takes its default, so a config without `channels` builds RGB networks)."""
    architecture = getattr(config, "architecture", None)
    if isinstance(architecture, dict):
        return dict(architecture["generator"]), dict(architecture["critic"])
    value = {field: getattr(config, field, default) for field, default in SIZE_FIELDS.items()}
    common = {"img_size": value["img_size"], "channels": value["channels"], "num_aus": value["num_aus"]}
    return ({**common, "width": value["g_conv_dim"], "num_residual": value["g_repeat_num"],
             "upsample": value["upsample"], "au_condition": value["au_condition"], "skips": value["skips"]},
            {**common, "width": value["d_conv_dim"], "num_down": value["d_repeat_num"]})


def make_tl_networks(config) -> TLNetworks:
    """Build the TL generator and critic for `config` (a GANimationConfig, or any object with the SIZE_FIELDS) in
    the current strategy scope; see TLNetworks for what the trainer gets. Raises ValueError naming a size that the
    strides do not allow."""
    generator_sizes, critic_sizes = network_sizes(config)
    return TLNetworks(build_tl_generator(**generator_sizes), build_tl_critic(**critic_sizes), generator_sizes,
                      critic_sizes)
