"""FER2013 expression classifiers: the originals' baselines C1/C2, the discriminator-style CNN, and the default judge.

- `build_c1_label_match`: what the original `classifier.py` really builds. It is *not* a 7-way classifier: it
  answers "does this label match this face?" (ResNet50 trunk + label embedding -> sigmoid). 25,790,013 params.
- `build_c2_resnet50`: the original `classifier2.py`, ResNet50 -> GAP -> Dense 1024 -> 7-way softmax. 25,693,063.
- `build_discriminator_style_classifier`: the README's "C1 = D of t4", a 4-block PatchGAN trunk with a softmax head.
- `build_judge`: the library's default judge of translated images, a small VGG-style CNN with batch norm and
  dropout chosen for accuracy per parameter (about 1.2M parameters at the default width 32; see docs/classifier.md).

Every builder takes images in [-1, 1]. The ResNet50 models expect 3 channels like the originals (gray replicated,
no ImageNet `preprocess_input`); `gray_input=True` puts the replication inside the model so it takes 48x48x1.
ImageNet weights are only ever read from a local file; nothing here downloads.

Also here, because they need model code: `judge_feature_extractor` / `inception_feature_extractor` and
`extract_features`, which turn images into the feature vectors `ccyclegan.metrics.frechet_distance` compares.
"""

from __future__ import annotations

import os

import keras
import numpy as np

from ccyclegan.data.pipeline import unit_range_array
from ccyclegan.labels import NUM_FER_CLASSES

FEATURES_LAYER = "features"  # the penultimate (pooled) layer every 7-way builder names, for feature extraction

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


def _image_input(input_shape, gray_input: bool, name: str = "image"):
    """The model input, plus the tensor the trunk sees (gray replicated to RGB inside the model if asked)."""
    if gray_input:
        inputs = keras.Input((*input_shape[:2], 1), name=name)
        return inputs, keras.layers.Concatenate(name="gray_to_rgb")([inputs, inputs, inputs])
    inputs = keras.Input(input_shape, name=name)
    return inputs, inputs


def _resnet50_trunk(input_shape, weights) -> keras.Model:
    path = _check_weights_file(weights, "ResNet50")
    return keras.applications.ResNet50(include_top=False, weights=path, input_shape=input_shape)


def build_c1_label_match(weights=None, input_shape=(48, 48, 3), num_classes: int = NUM_FER_CLASSES,
                         gray_input: bool = False) -> keras.Model:
    """The original C1 (`classifier.py`): P(label matches face) from [label (int), image].

    ResNet50 (no top, no resizing) -> GAP(2048) ++ Embedding(num_classes, 100)(label) -> Dense 1024 ReLU ->
    Dense 1 sigmoid. All layers trainable. `weights`: None or a local ImageNet no-top weights file.
    """
    label = keras.Input((1,), dtype="int32", name="label")
    image, rgb = _image_input(input_shape, gray_input)
    features = keras.layers.GlobalAveragePooling2D(name=FEATURES_LAYER)(_resnet50_trunk(input_shape, weights)(rgb))
    embedded = keras.layers.Flatten(name="label_flat")(keras.layers.Embedding(num_classes, 100, name="label_embedding")(label))
    x = keras.layers.Concatenate(name="features_and_label")([features, embedded])
    x = keras.layers.Dense(1024, activation="relu", name="hidden")(x)
    match = keras.layers.Dense(1, activation="sigmoid", name="match")(x)
    return keras.Model([label, image], match, name="c1_label_match")


def build_c2_resnet50(weights=None, input_shape=(48, 48, 3), num_classes: int = NUM_FER_CLASSES,
                      gray_input: bool = False) -> keras.Model:
    """The original C2 (`classifier2.py`): ResNet50 (no top) -> GAP -> Dense 1024 ReLU -> Dense 7 softmax."""
    image, rgb = _image_input(input_shape, gray_input)
    features = keras.layers.GlobalAveragePooling2D(name=FEATURES_LAYER)(_resnet50_trunk(input_shape, weights)(rgb))
    x = keras.layers.Dense(1024, activation="relu", name="hidden")(features)
    probs = keras.layers.Dense(num_classes, activation="softmax", name="probs")(x)
    return keras.Model(image, probs, name="c2_resnet50")


def build_discriminator_style_classifier(input_shape=(48, 48, 1), num_classes: int = NUM_FER_CLASSES,
                                         df: int = 64) -> keras.Model:
    """The README's C1 ("D of t4"): T4's PatchGAN trunk with a 7-way softmax head instead of the validity map.

    4 x [Conv k4 s2 'same' -> LeakyReLU(0.2) -> scalar instance norm (not on the first block)], df..8df filters,
    48 -> 3 pixels, then Flatten -> Dense softmax. 2,786,765 params at df=64.
    """
    from ccyclegan.layers import ScalarInstanceNorm  # the originals' keras-contrib IN semantics

    image = keras.Input(input_shape, name="image")
    x = image
    for i in range(4):
        x = keras.layers.Conv2D(df * 2**i, 4, strides=2, padding="same", name=f"conv{i + 1}")(x)
        x = keras.layers.LeakyReLU(0.2, name=f"lrelu{i + 1}")(x)
        if i > 0:
            x = ScalarInstanceNorm(name=f"norm{i + 1}")(x)
    x = keras.layers.Flatten(name=FEATURES_LAYER)(x)
    probs = keras.layers.Dense(num_classes, activation="softmax", name="probs")(x)
    return keras.Model(image, probs, name="discriminator_style_classifier")


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
                dropout: float = 0.4) -> keras.Model:
    """The default judge: a VGG-style CNN, 4 stages of 2 x [Conv3x3 -> BN -> ReLU] + max-pool, GAP, dropout, softmax.

    Stages have width, 2, 4, 8 x width filters (48 -> 24 -> 12 -> 6 -> 3 pixels); spatial dropout after stages 2-4
    and `dropout` before the classifier. Parameters: 1,176,359 at width 32 (7 classes); about 1,150 x width^2.
    Augmentation (`augmentation_block`) is applied by the train step, not built in: Keras random layers augment
    whenever `training` is not given, and a judge must never augment the images it is asked to judge.
    BN momentum 0.9 so the inference statistics are usable after a few hundred steps.
    """
    image = keras.Input(input_shape, name="image")
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
    probs = keras.layers.Dense(num_classes, activation="softmax", name="probs")(x)
    return keras.Model(image, probs, name="judge")


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
