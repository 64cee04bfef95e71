"""ccyclegan: unpaired facial image-to-image translation in TensorFlow 2 / Keras 3.

The core every model family shares: data readers and the synthetic face renderer (`ccyclegan.data`), the tf.data
pipeline, layers, losses, metrics and the training loop. Model builders live in `models/`, trainers in `train/`.
"""

from ccyclegan.labels import AU_CODES, AU_NAMES, FER_CLASSES, NUM_AUS, NUM_FER_CLASSES, fer_class_index

__version__ = "0.1.0"

__all__ = ["AU_CODES", "AU_NAMES", "FER_CLASSES", "NUM_AUS", "NUM_FER_CLASSES", "fer_class_index", "__version__"]
