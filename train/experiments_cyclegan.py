"""The two-domain UTKFace CycleGAN's named configurations (`../shared/reference/ganimation_cyclegan.md` part C).

The three notebooks of the original differ only in their data folder (the task); each ran the progressive schedule
its README summarises as 48x15, 64x25, 96x30, 128x20 and 256x20 epochs (the family's default `--schedule`, with the
batch sizes the notebooks used at each size). `utk-quick` is not in the original: the CPU preset of the quality run
(docs/cyclegan.md).
"""

from train.experiment import Experiment

CYCLEGAN_EXPERIMENTS: tuple[Experiment, ...] = (
    Experiment("utk-age", "cyclegan", "the original's age notebook: 20s <-> 50s (model_input), ResNet G with 9 blocks, "
               "patch D, LSGAN + 10 x cycle L1, Adam 2e-4 (0.5), progressive 48 -> 256 px over 110 epochs", None,
               {"task": "age"}),
    Experiment("utk-gender", "cyclegan", "the gender notebook: male <-> female, otherwise utk-age", "utk-age",
               {"task": "gender"}),
    Experiment("utk-ethnicity", "cyclegan", "the ethnicity notebook: White <-> Black, otherwise utk-age", "utk-age",
               {"task": "ethnicity"}),
    Experiment("utk-quick", "cyclegan", "not in the original: a CPU preset of utk-age (G width 16 with 6 blocks, D "
               "width 16, 48 px x 3 then 64 px x 2 epochs at batch 8, linear decay)", "utk-age",
               {"schedule": "48:3:8,64:2:8", "width": 16, "residual_blocks": 6, "d_width": 16,
                "lr_schedule": "linear-decay", "checkpoint_interval": 100}),
)
