"""TensorLayer 2.2.5 on TensorFlow 2.21 / Keras 3 / numpy 2 / h5py 3: every patch the library needs, in one place.

TensorLayer 2.2.5 (2020) predates these versions; four of its code paths break on them
(`../shared/reference/ganimation_cyclegan.md` part D). `apply()` patches each in place, once per process
(calling it again does nothing), and `models.ganimation_tl` calls it before building any network:

- instance_norm_statistics: `InstanceNorm`/`InstanceNorm2d` (and `LayerNorm`) fail for a batch larger than one,
  because TL's `batch_normalization` reshapes the per-instance statistics (B, 1, 1, C) to (1, 1, 1, B*C). The patch
  leaves statistics that already have the input's rank as they are and reshapes only per-channel (rank-1) vectors,
  so `BatchNorm` is unchanged.
- hdf5_text_attributes: `Model.load_weights('x.h5')` calls `.decode` on attributes that h5py >= 3 returns as str.
  The patch decodes bytes only.
- npz_object_array: `tl.files.save_npz` / `save_weights(format='npz')` hand numpy 2 a list of arrays of different
  shapes ("inhomogeneous shape"). The patch stores them as an object array, which TL's loader already reads.
- npz_dict_unique_names: `save_npz_dict` keys weights by name, and DeConv2d's Keras variables are all called
  `kernel`/`bias`, so a model with two DeConv2d loses weights silently. The patch refuses such a model with an error
  that names the repeated names (use `save_weights_npz` below, which is order-based).

- fast_frame_inspection: every TL layer's constructor calls `inspect.stack()` two or three times (to record its
  arguments and to guard protected methods), which reads the source of every frame on the stack: about 0.1 s per
  layer under pytest, 3 s for a tiny generator. The patch gives those two TL modules a `stack()` that returns the
  same frames without reading sources (TL uses only the frames).

`save_weights_npz` / `load_weights_npz` are the format the library saves TL networks in: the weights in build
order, with their names and shapes checked on load, so that a file from another architecture or width fails with
the weight that differs instead of loading garbage.
"""

from __future__ import annotations

import inspect
import os
import sys
import types
from collections import Counter
from pathlib import Path

import numpy as np

from ccyclegan.atomic import atomic_output
from ccyclegan.errors import DataError

_APPLIED: set[str] = set()
PATCHES = ("instance_norm_statistics", "hdf5_text_attributes", "npz_object_array", "npz_dict_unique_names",
           "fast_frame_inspection")


def _text(value) -> str:
    """An hdf5 attribute entry as str: h5py 2 gave bytes, h5py 3 gives str."""
    return value.decode("utf8") if isinstance(value, bytes | np.bytes_) else str(value)


# -- instance norm ----------------------------------------------------------------------------------------------------
def _rank_preserving_batch_normalization(x, mean, variance, offset, scale, variance_epsilon, data_format, name=None):
    """TL's `batch_normalization` with per-instance statistics kept per instance.

    Statistics of the input's rank (InstanceNorm's (B, 1, 1, C), LayerNorm's) broadcast as they are; rank-1 vectors
    (BatchNorm's moving statistics, gamma and beta of some layers) are reshaped to broadcast over the channel axis,
    as TL does. Computes x * (gamma * rsqrt(var + eps)) + (beta - mean * gamma * rsqrt(var + eps)).
    """
    import tensorflow as tf

    rank = len(x.shape)
    if data_format == "channels_last":
        broadcast = [1] * (rank - 1) + [-1]
    elif data_format == "channels_first":
        broadcast = [1, -1] + [1] * (rank - 2)
    else:
        raise ValueError(f"invalid data_format: {data_format}")

    def shaped(tensor):
        if tensor is None or len(tensor.shape) == rank:
            return tensor
        return tf.reshape(tensor, broadcast)

    mean, variance, offset, scale = (shaped(t) for t in (mean, variance, offset, scale))
    with tf.name_scope(name or "batchnorm"):
        inverse = tf.math.rsqrt(variance + variance_epsilon)
        if scale is not None:
            inverse = inverse * scale
        shift = offset - mean * inverse if offset is not None else -mean * inverse
        return x * tf.cast(inverse, x.dtype) + tf.cast(shift, x.dtype)


def _patch_instance_norm_statistics():
    from tensorlayer.layers import normalization

    normalization.batch_normalization = _rank_preserving_batch_normalization


# -- hdf5 -------------------------------------------------------------------------------------------------------------
class _BytesAttributes:
    """A read-only view of an h5py group whose name lists are bytes again, as TL 2.2.5's loaders expect."""

    def __init__(self, group):
        self._group = group

    @property
    def attrs(self):
        return {key: [_text(v).encode("utf8") for v in value] if key in ("layer_names", "weight_names") else value
                for key, value in self._group.attrs.items()}

    def __getitem__(self, key):
        import h5py

        item = self._group[key]
        return _BytesAttributes(item) if isinstance(item, h5py.Group) else item


def _patch_hdf5_text_attributes():
    import h5py
    from tensorlayer import logging
    from tensorlayer.files import utils

    if getattr(utils, "_ccyclegan_hdf5_patched", False):
        return
    in_order, by_name = utils._load_weights_from_hdf5_group_in_order, utils._load_weights_from_hdf5_group

    def load_in_order(f, layers):
        return in_order(f if isinstance(f, _BytesAttributes) else _BytesAttributes(f), layers)

    def load_by_name(f, layers, skip=False):
        return by_name(f if isinstance(f, _BytesAttributes) else _BytesAttributes(f), layers, skip)

    def load_hdf5_to_weights(filepath, network, skip=False):
        """TL's by-name loader, reading the layer names as h5py 3 gives them."""
        with h5py.File(filepath, "r") as f:
            if "layer_names" not in f.attrs:
                raise NameError(f"{filepath}: has no 'layer_names' attribute; it was not saved by TensorLayer")
            layer_names = [_text(n) for n in f.attrs["layer_names"]]
            for layer in network.all_layers:
                if layer.name not in layer_names:
                    logging.warning(f"Network layer named '{layer.name}' not found in {filepath}; it is skipped.")
            load_by_name(f, network.all_layers, skip)

    utils._load_weights_from_hdf5_group_in_order = load_in_order
    utils._load_weights_from_hdf5_group = load_by_name
    utils.load_hdf5_to_weights = load_hdf5_to_weights
    utils._ccyclegan_hdf5_patched = True


# -- npz --------------------------------------------------------------------------------------------------------------
def _object_array(arrays) -> np.ndarray:
    """A 1-D object array holding each array as it is (np.array(list) would try to stack them)."""
    holder = np.empty(len(arrays), dtype=object)
    for index, array in enumerate(arrays):
        holder[index] = array
    return holder


def _patch_npz_object_array():
    import tensorlayer
    from tensorlayer.files import utils

    def save_npz(save_list=None, name="model.npz"):
        """TL's save_npz for numpy 2: the weights as an object array under `params` (TL's load_npz reads it)."""
        np.savez(name, params=_object_array(utils.tf_variables_to_numpy(save_list or [])))

    utils.save_npz = save_npz
    tensorlayer.files.save_npz = save_npz


def _patch_npz_dict_unique_names():
    import tensorlayer
    from tensorlayer.files import utils

    if getattr(utils, "_ccyclegan_npz_dict_patched", False):
        return
    original = utils.save_npz_dict

    def save_npz_dict(save_list=None, name="model.npz"):
        """TL's save_npz_dict, refusing weights whose names repeat (the dict would keep only one of them)."""
        repeated = sorted(n for n, count in Counter(w.name for w in save_list or []).items() if count > 1)
        if repeated:
            raise ValueError(f"{name}: npz_dict keys weights by name and these names repeat, so weights would be "
                             f"lost: {', '.join(repeated)} (DeConv2d's variables are all 'kernel'/'bias'); save "
                             f"with ccyclegan.tl_compat.save_weights_npz instead")
        return original(save_list, name)

    utils.save_npz_dict = save_npz_dict
    tensorlayer.files.save_npz_dict = save_npz_dict
    utils._ccyclegan_npz_dict_patched = True


# -- frame inspection -------------------------------------------------------------------------------------------------
def frames_outward(context: int = 1) -> list[tuple]:
    """What `inspect.stack()` gives TL (index 0 = the caller, then outward), each entry starting with its frame,
    without the source lines TL never reads."""
    frames, frame = [], sys._getframe(1)
    while frame is not None:
        frames.append((frame,))
        frame = frame.f_back
    return frames


class _InspectWithFastStack(types.ModuleType):
    """The inspect module as TL's modules see it after the patch: everything as it is, but `stack`."""

    def __init__(self):
        super().__init__("inspect")
        self.stack = frames_outward

    def __getattr__(self, name):
        return getattr(inspect, name)


def _patch_fast_frame_inspection():
    from tensorlayer.decorators import method_decorator
    from tensorlayer.layers import core

    for module in (method_decorator, core):
        module.inspect = _InspectWithFastStack()


_PATCH_FUNCTIONS = {
    "instance_norm_statistics": _patch_instance_norm_statistics,
    "hdf5_text_attributes": _patch_hdf5_text_attributes,
    "npz_object_array": _patch_npz_object_array,
    "npz_dict_unique_names": _patch_npz_dict_unique_names,
    "fast_frame_inspection": _patch_fast_frame_inspection,
}


def apply() -> tuple[str, ...]:
    """Apply every patch that is not applied yet (idempotent); returns the names of the patches applied so far."""
    import tensorlayer  # noqa: F401  (fails here, with TL's own message, if TensorLayer is missing)

    for name in PATCHES:
        if name not in _APPLIED:
            _PATCH_FUNCTIONS[name]()
            _APPLIED.add(name)
    return tuple(sorted(_APPLIED))


# -- the library's TL weight format -----------------------------------------------------------------------------------
def save_weights_npz(network, path: str | os.PathLike) -> Path:
    """Save a TL model's weights in build order with their names and shapes (atomic: a temporary file, renamed)."""
    path = Path(path)
    weights = list(network.all_weights)
    arrays = {f"w{index:04d}": w.numpy() for index, w in enumerate(weights)}
    names = np.array([w.name for w in weights])
    with atomic_output(path) as temporary, open(temporary, "wb") as handle:
        np.savez(handle, names=names, **arrays)
    return path


def load_weights_npz(network, path: str | os.PathLike) -> None:
    """Load `save_weights_npz`'s file into a TL model built the same way; any difference is a DataError naming the
    weight (its index, name and both shapes) and nothing is assigned then."""
    path = Path(path)
    if not path.is_file():
        raise DataError(path, "no such file (a TensorLayer weight file written by save_weights_npz)")
    try:
        with np.load(path, allow_pickle=False) as data:
            if "names" not in data.files:
                raise DataError(path, "not a ccyclegan TensorLayer weight file (no 'names' entry)")
            names = [str(n) for n in data["names"]]
            arrays = [data[f"w{index:04d}"] for index in range(len(names))]
    except (OSError, ValueError, KeyError) as error:
        if isinstance(error, DataError):
            raise
        raise DataError(path, f"cannot read it as a weight file ({error})") from None
    weights = list(network.all_weights)
    if len(arrays) != len(weights):
        raise DataError(path, f"holds {len(arrays)} weights, the network {network.name!r} has {len(weights)} "
                              f"(another architecture or depth)")
    for index, (name, array, weight) in enumerate(zip(names, arrays, weights)):
        if tuple(array.shape) != tuple(weight.shape):
            raise DataError(path, f"weight {index} ({name}) has shape {tuple(array.shape)}, the network's "
                                  f"({weight.name}) {tuple(weight.shape)} (another width, size or AU count)")
    for array, weight in zip(arrays, weights):
        weight.assign(array)
