"""Bundled synthetic faces with ground truth: the default data set of every model family.

A procedural renderer draws faces with known identities, expressions (17 OpenFace AU intensities, or one of the 7
FER2013 classes as an AU prototype with jitter) and photo nuisances. Because every sample keeps its parameters, the
*true translation* of any face (the same identity rendered with the target expression) is known, which turns
"does the translation look right?" into a number (`ground_truth_errors`).

    from ccyclegan.data import synthetic
    faces = synthetic.make_faces(1000, seed=0)                      # 48x48 gray, FER labels
    truth = synthetic.true_translation(faces.records[0], target=3)  # the same face, Happy
    synthetic.write_fer2013("datasets/synthetic", n=35887, seed=0)  # fer2013.csv + fer2013.records.jsonl

Command line (writes a data set in the exact format of a real one, byte-identical for a seed):

    python -m ccyclegan.data.synthetic fer2013 --n 35887 --out datasets/synthetic/
    python -m ccyclegan.data.synthetic openface --n 5000 --out datasets/synthetic_emotionet/
    python -m ccyclegan.data.synthetic ganimation --n 5000 --out datasets/synthetic_celeba/
    python -m ccyclegan.data.synthetic utkface --n 5000 --task age --out datasets/synthetic_utkface/
    python -m ccyclegan.data.synthetic pictures --out images/      # the README's two figures

The pieces live in `synthetic_model` (identity, nuisance, AUs, records), `synthetic_render` (drawing),
`synthetic_faces` (data sets, ground truth) and `synthetic_writers` (file formats); see docs/synthetic.md.
"""

from __future__ import annotations

import argparse
import sys
import time

from ccyclegan.data.synthetic_faces import (
    L1_UNIT,
    SyntheticFaces,
    ground_truth_errors,
    make_faces,
    mean_faces_by_class,
    render,
    render_records,
    true_translation,
    true_translations,
)
from ccyclegan.data.synthetic_model import (
    CLASS_PROTOTYPE_AU_CODES,
    HAIR_STYLES,
    RENDERER_VERSION,
    UTKFACE_RACES,
    FaceRecord,
    Identity,
    Nuisance,
    class_aus,
    class_mean_aus,
    sample_identity,
    sample_nuisance,
)
from ccyclegan.data.synthetic_writers import (
    UTKFACE_TASKS,
    WRITERS,
    load_records,
    records_path,
    write_au_file,
    write_fer2013,
    write_openface,
    write_utkface,
)

__all__ = [
    "CLASS_PROTOTYPE_AU_CODES", "HAIR_STYLES", "L1_UNIT", "RENDERER_VERSION", "UTKFACE_RACES", "FaceRecord",
    "Identity", "Nuisance", "SyntheticFaces", "class_aus", "class_mean_aus", "ground_truth_errors", "load_records",
    "make_faces", "mean_faces_by_class", "records_path", "render", "render_records", "sample_identity",
    "sample_nuisance", "true_translation", "true_translations", "write_au_file", "write_fer2013", "write_openface",
    "write_utkface", "main",
]

DEFAULT_SIZES = {"fer2013": 48, "openface": 112, "ganimation": 128, "utkface": 200}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m ccyclegan.data.synthetic",
        description="Write synthetic faces with ground truth in the exact format of a real data set.")
    parser.add_argument("format", choices=sorted(WRITERS) + ["pictures"],
                        help="which real format to write, or 'pictures': the README's two figures")
    parser.add_argument("--n", type=int, default=None, help="number of faces (FER2013 has 35887)")
    parser.add_argument("--out", required=True, help="output folder (created if missing)")
    parser.add_argument("--seed", type=int, default=0, help="random seed; the same seed writes the same bytes")
    parser.add_argument("--size", type=int, default=None,
                        help="image side in pixels (default: fer2013 48 (fixed by the format), openface 112, "
                             "ganimation 128, utkface 200)")
    parser.add_argument("--nuisance-strength", type=float, default=1.0,
                        help="scale of shifts, rotation, scale, lighting and noise (0 = none)")
    parser.add_argument("--task", choices=UTKFACE_TASKS, default=None,
                        help="utkface: balance the two domains of this task (20s vs 50s, male vs female, race 0 vs 1)")
    parser.add_argument("--class-frequencies", choices=("uniform", "fer2013"), default="uniform",
                        help="fer2013: balanced classes, or the real FER2013 imbalance (Disgust 1.5%%)")
    parser.add_argument("--subdirs", type=int, default=1, help="openface: number of dataFile_XXXX folders")
    parser.add_argument("--image-format", choices=("jpg", "png"), default="jpg",
                        help="ganimation: JPEG as the real files, or lossless PNG")
    parser.add_argument("--header-lines", type=int, choices=(0, 2), default=2,
                        help="ganimation: 2 header lines (CelebA/StarGAN style) or none")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    return parser


def main(argv=None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.format == "pictures":
        from ccyclegan.data.synthetic_pictures import save_pictures

        for path in save_pictures(args.out, seed=args.seed):
            print(f"wrote {path}")
        return 0
    if args.n is None:
        parser.error("--n is required to write a data set")
    if args.format == "fer2013" and args.size not in (None, 48):
        print("error: FER2013 images are 48x48 by definition; drop --size", file=sys.stderr)
        return 2
    common = dict(seed=args.seed, nuisance_strength=args.nuisance_strength, progress=not args.quiet)
    size = {} if args.format == "fer2013" else {"size": args.size or DEFAULT_SIZES[args.format]}
    extra = {"fer2013": {"class_frequencies": args.class_frequencies}, "openface": {"subdirs": args.subdirs},
             "ganimation": {"image_format": args.image_format, "header_lines": args.header_lines},
             "utkface": {"task": args.task}}[args.format]
    started = time.perf_counter()
    try:
        written = WRITERS[args.format](args.out, args.n, **common, **size, **extra)
    except (ValueError, OSError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    seconds = time.perf_counter() - started
    print(f"wrote {args.n} synthetic {args.format} faces to {written} in {seconds:.1f} s "
          f"(ground truth: *.records.jsonl beside the data)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
