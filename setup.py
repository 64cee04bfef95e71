"""Install ccyclegan (the core), its model builders (`models`) and trainers (`train`)."""
from pathlib import Path

from setuptools import find_packages, setup

HERE = Path(__file__).parent
REQUIREMENTS = [
    line.split("#")[0].strip()
    for line in (HERE / "requirements.txt").read_text().splitlines()
    if line.split("#")[0].strip() and not line.startswith(("pytest", "ruff"))
]

setup(
    name="ccyclegan",
    version="0.1.0",
    description="Unpaired facial image-to-image translation (CCycleGAN, AU-conditioned GANs, GANimation, "
    "UTKFace CycleGAN) in TensorFlow 2 / Keras 3",
    long_description=(HERE / "README.md").read_text(encoding="utf-8"),
    long_description_content_type="text/markdown",
    license="MIT",
    python_requires=">=3.10",
    packages=find_packages(include=["ccyclegan", "ccyclegan.*", "models", "models.*", "train", "train.*"]),
    install_requires=REQUIREMENTS,
    extras_require={"test": ["pytest>=8,<10", "ruff>=0.5"]},
)
