"""The CCycleGAN lineage's experiments (T-ids of the original log), as the differences each made from its parent.

Facts: `../shared/reference/ccyclegan.md` §2.5 and §4.
"""

from train.experiment import Experiment

CCYCLEGAN_EXPERIMENTS = (
    Experiment("T24", "ccyclegan", "all 6 other expressions per sample; six sequential B-sized G updates, d_g_ratio 1, "
               "weights 1, 600 epochs", None,
               {"g_step": "sequential", "d_g_ratio": 1, "epochs": 600, "g_gan_loss_w": 1, "g_cl_loss_w": 1,
                "rec_loss_w": 1}),
    Experiment("T25", "ccyclegan", "T24 with one G update on all 6B translations, 200 epochs", "T24",
               {"g_step": "batched", "epochs": 200}),
    Experiment("T26", "ccyclegan", "the final model: G weights 2/2/1 (adversarial/expression/reconstruction), "
               "d_g_ratio 5, 170 epochs (the family's defaults)", "T25",
               {"d_g_ratio": 5, "epochs": 170, "g_gan_loss_w": 2, "g_cl_loss_w": 2}),
    Experiment("quickstart", "ccyclegan", "not in the log: a CPU preset of T26 that shows the product in about 10 "
               "minutes on 2 cores (half widths, attention mask, one epoch at batch 24, then an evaluation)", "T26",
               {"gf": 32, "df": 32, "d_g_ratio": 1, "adam_lr": 0.0005, "g_gan_loss_w": 1, "g_cl_loss_w": 5,
                "rec_loss_w": 10, "attention_mask": True, "decoder_edge": "replicate",
                "lr_schedule": "linear-decay", "batch_size": 24, "epochs": 1, "sample_interval": 400,
                "evaluate_after": True, "eval_n": 300}),
)
