"""Classifiers and the judges built on them: the originals' FER2013 baselines C1/C2, the discriminator-style CNN, the
default judge, and `load_judge`, which loads any trained judge (expression, domain or AU) with what it judges.

- `build_c1_label_match`: what the original `classifier.py` really builds. It is *not* a 7-way classifier: it
  answers "does this label match this face?" (ResNet50 trunk + label embedding -> sigmoid). 25,790,013 params.
- `build_c2_resnet50`: the original `classifier2.py`, ResNet50 -> GAP -> Dense 1024 -> 7-way softmax. 25,693,063.
- `build_discriminator_style_classifier`: the README's "C1 = D of t4", a 4-block PatchGAN trunk with a softmax head.
- `build_judge`: the library's default judge of translated images, a small VGG-style CNN with batch norm and
  dropout chosen for accuracy per parameter (about 1.2M parameters at the default width 32; see docs/classifier.md).

Every builder takes images in [-1, 1] of any size from 32 pixels (48..128 in practice) with 1 or 3 channels, and
`output_activation` "softmax" (class probabilities) or "sigmoid" (AU intensities in [0, 1]). The ResNet50 models
compute on 3 channels like the originals (gray replicated inside the model, no ImageNet `preprocess_input`): a
1-channel `input_shape`, or `gray_input=True`, gives a model that takes gray images. ImageNet weights are only ever
read from a local file; nothing here downloads.

A trained judge is a `classifier.keras` with a `judge.json` beside it (`save_judge`) naming its task
("expression", "domain" or "au"), its class names or AU codes and its input shape; `load_judge(path)` gives a
`Judge` whose `scores(images)` are class probabilities or AU predictions, whatever family asks.

Also here, because they need model code: `judge_feature_extractor` / `inception_feature_extractor` and
`extract_features`, which turn images into the feature vectors `ccyclegan.metrics.frechet_distance` compares.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import keras
import numpy as np

from ccyclegan.data.pipeline import unit_range_array
from ccyclegan.labels import AU_CODES, FER_CLASSES, NUM_FER_CLASSES

FEATURES_LAYER = "features"  # the penultimate (pooled) layer every 7-way builder names, for feature extraction
OUTPUT_ACTIVATIONS = ("softmax", "sigmoid")
TASKS = ("expression", "domain", "au")  # what a judge judges: FER classes, two domains, or 17 AU intensities
AU_NAMES = tuple(f"AU{code:02d}" for code in AU_CODES)
JUDGE_MODEL_FILE = "classifier.keras"
JUDGE_RECORD_FILE = "judge.json"
JUDGE_HINT = ("a classifier run folder, or the classifier.keras a `python train.py --family classifier` run exports "
              "(with judge.json beside it)")

_WEIGHTS_HELP = {
    "ResNet50": "resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5",
    "InceptionV3": "inception_v3_weights_tf_dim_ordering_tf_kernels_notop.h5",
}


def _check_weights_file(weights: str | os.PathLike | None, network: str) -> str | None:
    """None or an existing local file; any other value is an error that says how to get the file."""
    if weights is None:
        return None
    path = os.fspath(weights)
    if path == "imagenet":
        raise ValueError(f"{network} weights must be a local file path; this library never downloads. "
                         + _how_to_get(network))
    if not os.path.isfile(path):
        raise FileNotFoundError(f"{path}: {network} ImageNet weights file not found. " + _how_to_get(network))
    return path


def _how_to_get(network: str) -> str:
    filename = _WEIGHTS_HELP[network]
    return (f"On a machine with network access, `keras.applications.{network}(include_top=False, "
            f"weights='imagenet')` saves {filename} under ~/.keras/models/; copy that file here and pass its path.")


def gray_to_rgb(images):
    """Replicate a single gray channel to 3 (what cv2 GRAY2RGB does); works on numpy arrays and tensors."""
    if images.shape[-1] != 1:
        raise ValueError(f"gray_to_rgb expects 1 channel in the last axis; got shape {tuple(images.shape)}")
    if isinstance(images, np.ndarray):
        return np.repeat(images, 3, axis=-1)
    return keras.ops.repeat(images, 3, axis=-1)


def _check_input_shape(input_shape) -> tuple[int, int, int]:
    """(H, W, C) with C 1 or 3 and both sides >= 32 (the ResNet50 minimum; the judge pools 4 times)."""
    shape = tuple(int(side) for side in input_shape)
    if len(shape) != 3 or shape[2] not in (1, 3) or min(shape[:2]) < 32:
        raise ValueError(f"input_shape must be (height, width, 1 or 3 channels) with sides >= 32; got {input_shape}")
    return shape


def _check_activation(output_activation: str) -> str:
    if output_activation not in OUTPUT_ACTIVATIONS:
        raise ValueError(f"output_activation must be one of {OUTPUT_ACTIVATIONS}, got {output_activation!r}")
    return output_activation


def _output_layer_name(output_activation: str) -> str:
    return "probs" if output_activation == "softmax" else "predictions"


def _rgb_image_input(input_shape, gray_input: bool, name: str = "image"):
    """The model input, plus the 3-channel tensor the ResNet50 trunk sees (gray replicated inside the model)."""
    height, width, channels = _check_input_shape(input_shape)
    if gray_input or channels == 1:
        inputs = keras.Input((height, width, 1), name=name)
        return inputs, keras.layers.Concatenate(name="gray_to_rgb")([inputs, inputs, inputs])
    inputs = keras.Input((height, width, 3), name=name)
    return inputs, inputs


def _resnet50_trunk(input_shape, weights) -> keras.Model:
    path = _check_weights_file(weights, "ResNet50")
    return keras.applications.ResNet50(include_top=False, weights=path, input_shape=(*input_shape[:2], 3))


def build_c1_label_match(weights=None, input_shape=(48, 48, 3), num_classes: int = NUM_FER_CLASSES,
                         gray_input: bool = False) -> keras.Model:
    """The original C1 (`classifier.py`): P(label matches face) from [label (int), image].

    ResNet50 (no top, no resizing) -> GAP(2048) ++ Embedding(num_classes, 100)(label) -> Dense 1024 ReLU ->
    Dense 1 sigmoid. All layers trainable. `weights`: None or a local ImageNet no-top weights file.
    """
    label = keras.Input((1,), dtype="int32", name="label")
    image, rgb = _rgb_image_input(input_shape, gray_input)
    features = keras.layers.GlobalAveragePooling2D(name=FEATURES_LAYER)(_resnet50_trunk(input_shape, weights)(rgb))
    embedded = keras.layers.Flatten(name="label_flat")(keras.layers.Embedding(num_classes, 100, name="label_embedding")(label))
    x = keras.layers.Concatenate(name="features_and_label")([features, embedded])
    x = keras.layers.Dense(1024, activation="relu", name="hidden")(x)
    match = keras.layers.Dense(1, activation="sigmoid", name="match")(x)
    return keras.Model([label, image], match, name="c1_label_match")


def build_c2_resnet50(weights=None, input_shape=(48, 48, 3), num_classes: int = NUM_FER_CLASSES,
                      gray_input: bool = False, output_activation: str = "softmax") -> keras.Model:
    """The original C2 (`classifier2.py`): ResNet50 (no top) -> GAP -> Dense 1024 ReLU -> Dense 7 softmax."""
    image, rgb = _rgb_image_input(input_shape, gray_input)
    features = keras.layers.GlobalAveragePooling2D(name=FEATURES_LAYER)(_resnet50_trunk(input_shape, weights)(rgb))
    x = keras.layers.Dense(1024, activation="relu", name="hidden")(features)
    activation = _check_activation(output_activation)
    outputs = keras.layers.Dense(num_classes, activation=activation, name=_output_layer_name(activation))(x)
    return keras.Model(image, outputs, name="c2_resnet50")


def build_discriminator_style_classifier(input_shape=(48, 48, 1), num_classes: int = NUM_FER_CLASSES,
                                         df: int = 64, output_activation: str = "softmax") -> keras.Model:
    """The README's C1 ("D of t4"): T4's PatchGAN trunk with a 7-way softmax head instead of the validity map.

    4 x [Conv k4 s2 'same' -> LeakyReLU(0.2) -> scalar instance norm (not on the first block)], df..8df filters,
    48 -> 3 pixels, then Flatten -> Dense softmax. 2,786,765 params at df=64 and 48x48x1 (the Dense layer grows with
    the image: (size / 16)^2 x 8df inputs).
    """
    from ccyclegan.layers import ScalarInstanceNorm  # the originals' keras-contrib IN semantics

    activation = _check_activation(output_activation)
    image = keras.Input(_check_input_shape(input_shape), name="image")
    x = image
    for i in range(4):
        x = keras.layers.Conv2D(df * 2**i, 4, strides=2, padding="same", name=f"conv{i + 1}")(x)
        x = keras.layers.LeakyReLU(0.2, name=f"lrelu{i + 1}")(x)
        if i > 0:
            x = ScalarInstanceNorm(name=f"norm{i + 1}")(x)
    x = keras.layers.Flatten(name=FEATURES_LAYER)(x)
    outputs = keras.layers.Dense(num_classes, activation=activation, name=_output_layer_name(activation))(x)
    return keras.Model(image, outputs, name="discriminator_style_classifier")


def augmentation_block(shift: float = 0.1, rotation_degrees: float = 10.0, seed: int | None = None) -> keras.Sequential:
    """Random shifts (fraction of the size) and rotations, for the train step to call with `training=True`.

    Call it with an explicit `training`: Keras random layers default to augmenting when it is omitted.
    """
    layers = []
    if shift > 0:
        layers.append(keras.layers.RandomTranslation(shift, shift, fill_mode="nearest", seed=seed, name="shift"))
    if rotation_degrees > 0:
        layers.append(keras.layers.RandomRotation(rotation_degrees / 360.0, fill_mode="nearest", seed=seed,
                                                  name="rotate"))
    return keras.Sequential(layers, name="augment")


def build_judge(input_shape=(48, 48, 1), num_classes: int = NUM_FER_CLASSES, width: int = 32,
                dropout: float = 0.4, output_activation: str = "softmax") -> keras.Model:
    """The default judge: a VGG-style CNN, 4 stages of 2 x [Conv3x3 -> BN -> ReLU] + max-pool, GAP, dropout, head.

    Stages have width, 2, 4, 8 x width filters (48 -> 24 -> 12 -> 6 -> 3 pixels; 112 -> 7; 128 -> 8); spatial
    dropout after stages 2-4 and `dropout` before the head: softmax over `num_classes` classes, or sigmoid for
    `num_classes` AU intensities in [0, 1]. Parameters: 1,176,359 at width 32 and 7 classes, at any image size
    (global pooling); about 1,150 x width^2. 3 input channels add 9 x 2 x width weights.
    Augmentation (`augmentation_block`) is applied by the train step, not built in: Keras random layers augment
    whenever `training` is not given, and a judge must never augment the images it is asked to judge.
    BN momentum 0.9 so the inference statistics are usable after a few hundred steps.
    """
    activation = _check_activation(output_activation)
    image = keras.Input(_check_input_shape(input_shape), name="image")
    x = image
    for stage in range(4):
        filters = width * 2**stage
        for conv in range(2):
            name = f"stage{stage + 1}_conv{conv + 1}"
            x = keras.layers.Conv2D(filters, 3, padding="same", use_bias=False, name=name)(x)
            x = keras.layers.BatchNormalization(momentum=0.9, name=f"{name}_bn")(x)
            x = keras.layers.ReLU(name=f"{name}_relu")(x)
        x = keras.layers.MaxPooling2D(name=f"stage{stage + 1}_pool")(x)
        if stage > 0:
            x = keras.layers.SpatialDropout2D(0.1, name=f"stage{stage + 1}_dropout")(x)
    x = keras.layers.GlobalAveragePooling2D(name=FEATURES_LAYER)(x)
    x = keras.layers.Dropout(dropout, name="dropout")(x)
    outputs = keras.layers.Dense(num_classes, activation=activation, name=_output_layer_name(activation))(x)
    return keras.Model(image, outputs, name="judge")


# --- judges: scoring, and what a saved judge judges ---------------------------------------------------------------


def is_label_match(model: keras.Model) -> bool:
    """C1 takes [label, image] and answers match / no match instead of giving one score per class."""
    return len(model.inputs) == 2


def class_scores(model: keras.Model, images: np.ndarray, batch_size: int = 256,
                 num_classes: int = NUM_FER_CLASSES) -> np.ndarray:
    """(N, C) outputs of uint8 or [-1, 1] images: class probabilities (or AU predictions of a sigmoid head); for
    the label-match C1, its match probability for every one of `num_classes` labels."""
    import tensorflow as tf

    scores = []
    label_match = is_label_match(model)
    for start in range(0, len(images), batch_size):
        batch = tf.constant(unit_range_array(images[start:start + batch_size]))
        if label_match:
            n = len(batch)
            labels = tf.repeat(tf.range(num_classes), n)[:, None]  # every label for every image
            match = model([labels, tf.tile(batch, [num_classes, 1, 1, 1])], training=False)
            scores.append(tf.transpose(tf.reshape(match, (num_classes, n))).numpy())
        else:
            scores.append(keras.ops.convert_to_numpy(model(batch, training=False)))
    return np.concatenate(scores).astype(np.float64)


def _image_shape_of(model: keras.Model) -> tuple[int, int, int]:
    """(H, W, C) of the model's image input (C1's second input)."""
    shape = model.inputs[-1].shape
    return tuple(int(side) for side in shape[1:])


def _num_outputs(model: keras.Model) -> int:
    return len(FER_CLASSES) if is_label_match(model) else int(model.outputs[0].shape[-1])


@dataclass(frozen=True)
class Judge:
    """A trained classifier and what it judges, so that any family can score its outputs with it.

    task: "expression" (FER classes), "domain" (two domains A, B) or "au" (17 AU intensities, divided by 5 as the
    sources read them, in [0, 1]). names: the class / domain names or the AU codes, in output order.
    """

    model: keras.Model
    task: str
    names: tuple[str, ...]
    input_shape: tuple[int, int, int]
    path: Path | None = None
    record: dict = field(default_factory=dict)  # judge.json as read (arch, dataset, held-out figures, ...)

    @property
    def is_regressor(self) -> bool:
        return self.task == "au"

    def scores(self, images, batch_size: int = 256) -> np.ndarray:
        """(N, len(names)) float64: class probabilities, or AU predictions in [0, 1].

        Images are uint8 (0..255) or float in [-1, 1], (N, H, W, C). Another size than the judge's is resized to it
        (bilinear, antialiased); gray images are replicated to RGB for an RGB judge. RGB images for a gray judge
        are refused: the judge never saw colour.
        """
        images = self._fit_images(images)
        return class_scores(self.model, images, batch_size, num_classes=len(self.names))

    def _fit_images(self, images) -> np.ndarray:
        images = np.asarray(images)
        if images.ndim == 3 and self.input_shape[2] == 1:
            images = images[..., None]  # (N, H, W) gray
        if images.ndim != 4 or images.shape[-1] not in (1, 3):
            raise ValueError(f"the judge takes images (N, H, W, 1 or 3); got shape {images.shape}")
        height, width, channels = self.input_shape
        if images.shape[-1] != channels:
            if channels == 1:
                raise ValueError(f"this judge judges gray images {self.input_shape}; got RGB images {images.shape}")
            images = gray_to_rgb(images)
        if images.shape[1:3] != (height, width):
            import tensorflow as tf

            resized = tf.image.resize(unit_range_array(images), (height, width), antialias=True)
            images = np.clip(resized.numpy(), -1.0, 1.0)
        return images


def judge_record(task: str, names, input_shape, **details) -> dict:
    """What judge.json holds: the task, the names in output order, the input shape, what the outputs are, and any
    `details` (arch, dataset, held-out figures)."""
    if task not in TASKS:
        raise ValueError(f"task must be one of {TASKS}, got {task!r}")
    outputs = "AU intensities / 5, in [0, 1]" if task == "au" else "class probabilities"
    return {"task": task, "names": list(names), "input_shape": [int(side) for side in input_shape],
            "outputs": outputs, **details}


def save_judge(model: keras.Model, folder, task: str, names, **details) -> Path:
    """Write `classifier.keras` (atomically) and `judge.json` into `folder`; returns the model path."""
    from ccyclegan.modelio import save_model_atomic

    folder = Path(folder)
    record = judge_record(task, names, _image_shape_of(model), **details)
    if _num_outputs(model) != len(record["names"]):
        raise ValueError(f"the model has {_num_outputs(model)} outputs but {len(record['names'])} names were given")
    model_path = save_model_atomic(model, folder / JUDGE_MODEL_FILE)
    (folder / JUDGE_RECORD_FILE).write_text(json.dumps({**record, "model": JUDGE_MODEL_FILE}, indent=2))
    return model_path


def load_judge(path) -> Judge:
    """A judge from a classifier run folder or its `classifier.keras` (with `judge.json` beside it).

    Every problem is one `ModelFileError` line naming the path: missing, not a Keras file, a judge.json that does
    not match the model. A `classifier.keras` without judge.json (trained before judges recorded their task) is
    taken as a FER2013 expression judge when it has 7 class outputs, and refused otherwise.
    """
    from ccyclegan.modelio import ModelFileError, load_keras_model

    path = Path(path)
    if path.is_dir() and (path / JUDGE_MODEL_FILE).is_file():
        path = path / JUDGE_MODEL_FILE
    elif path.name == JUDGE_RECORD_FILE and path.is_file():
        path = path.with_name(JUDGE_MODEL_FILE)
    record_path = path.with_name(JUDGE_RECORD_FILE)
    record = None
    if path.is_file() and record_path.is_file():
        try:
            record = json.loads(record_path.read_text())
            task, names, input_shape = record["task"], tuple(record["names"]), tuple(record["input_shape"])
        except (ValueError, KeyError, TypeError) as error:
            raise ModelFileError(record_path, f"is not a judge record (needs task, names and input_shape: "
                                              f"{type(error).__name__}: {error})") from None
        if task not in TASKS:
            raise ModelFileError(record_path, f"names the task {task!r}; expected one of {', '.join(TASKS)}")

    def check(model) -> str | None:
        if record is None:
            if _num_outputs(model) == NUM_FER_CLASSES:
                return None
            return (f"has {_num_outputs(model)} outputs and no {JUDGE_RECORD_FILE} beside it saying what they are "
                    f"(only 7-class FER2013 judges are recognised without one)")
        if _image_shape_of(model) != input_shape:
            return f"takes images {_image_shape_of(model)} but {JUDGE_RECORD_FILE} says {input_shape}"
        if _num_outputs(model) != len(names):
            return f"has {_num_outputs(model)} outputs but {JUDGE_RECORD_FILE} names {len(names)}"
        return None

    model = load_keras_model(path, what="judge", check=check, hint=JUDGE_HINT)
    if record is None:
        return Judge(model, "expression", tuple(FER_CLASSES), _image_shape_of(model), path, {})
    return Judge(model, task, names, tuple(int(side) for side in input_shape), path, record)


def load_au_judge(path, why: str) -> Judge:
    """An AU regressor judge (`--task au`); any other judge is refused, naming `why` it was wanted."""
    from ccyclegan.errors import UsageError

    judge = load_judge(path)
    if not judge.is_regressor:
        raise UsageError(f"{path}: a {judge.task} judge; {why} needs an AU regressor (python train.py --family "
                         f"classifier --task au)")
    return judge


# --- feature extractors for the Frechet distance ------------------------------------------------------------------


def judge_feature_extractor(model: keras.Model, layer: str = FEATURES_LAYER) -> keras.Model:
    """The classifier's pooled penultimate features (e.g. 256-d for the default judge) as a model of its own."""
    try:
        output = model.get_layer(layer).output
    except ValueError:
        raise ValueError(f"model {model.name!r} has no layer {layer!r} to take features from; "
                         f"its layers are {[lay.name for lay in model.layers]}") from None
    return keras.Model(model.inputs, output, name=f"{model.name}_features")


def inception_feature_extractor(weights, input_shape=(48, 48, 1), resize_to: int = 299) -> keras.Model:
    """InceptionV3 pool features (2048-d) of images in [-1, 1], resized bilinearly to 299 and made RGB in-model.

    `weights` is a local no-top ImageNet file (None gives random weights, for tests only). Inception's own
    preprocessing is exactly [-1, 1]. Distances are comparable only to FIDs computed the same way; the originals'
    TF1 graph (`pool_3`, legacy bilinear resize) gives different numbers (see docs/classifier.md).
    """
    path = _check_weights_file(weights, "InceptionV3")
    image = keras.Input(input_shape, name="image")
    x = keras.layers.Resizing(resize_to, resize_to, interpolation="bilinear", name="resize")(image)
    if input_shape[-1] == 1:
        x = keras.layers.Concatenate(name="gray_to_rgb")([x, x, x])
    inception = keras.applications.InceptionV3(include_top=False, weights=path, pooling="avg",
                                               input_shape=(resize_to, resize_to, 3))
    return keras.Model(image, inception(x), name="inception_features")


def extract_features(extractor: keras.Model, images: np.ndarray, batch_size: int = 256) -> np.ndarray:
    """Run `extractor` over uint8 (0..255) or [-1, 1] float images in batches; (N, D) float64 features."""
    images = np.asarray(images)
    if images.ndim != 4:
        raise ValueError(f"images must be (N, H, W, C); got shape {images.shape}")
    features = []
    for start in range(0, len(images), batch_size):
        batch = unit_range_array(images[start:start + batch_size])
        features.append(keras.ops.convert_to_numpy(extractor(batch, training=False)))
    return np.concatenate(features).reshape(len(images), -1).astype(np.float64)
