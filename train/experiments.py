"""The CCycleGAN experiment log by name: each runnable experiment is a set of settings over the T26 defaults.

Facts from the original scripts (`../shared/reference/ccyclegan.md` §2.5 and §4): T24 translates to all six other
classes with six sequential G updates per iteration, T25 with one shuffled 6B update, T26 adds the loss weights of
the command line (G 2/2/1) and the implicit d_g_ratio of 5.
"""

EXPERIMENTS = {
    "T24": {
        "about": "all 6 other expressions per sample; six sequential B-sized G updates, d_g_ratio 1, weights 1, 600 epochs",
        "settings": {"g_step": "sequential", "d_g_ratio": 1, "epochs": 600, "g_gan_loss_w": 1, "g_cl_loss_w": 1,
                     "rec_loss_w": 1},
    },
    "T25": {
        "about": "T24 with one G update on all 6B translations, d_g_ratio 1, weights 1, 200 epochs",
        "settings": {"g_step": "batched", "d_g_ratio": 1, "epochs": 200, "g_gan_loss_w": 1, "g_cl_loss_w": 1,
                     "rec_loss_w": 1},
    },
    "T26": {
        "about": "the final model: G weights 2/2/1 (adversarial/expression/reconstruction), d_g_ratio 5, 170 epochs",
        "settings": {},
    },
}
LATER = ("T1..T23", "T27", "C1", "C2")


def experiment_settings(name: str) -> dict:
    """The settings of experiment `name` (case-insensitive), or an error listing what can be run."""
    key = name.upper()
    if key not in EXPERIMENTS:
        raise ValueError(f"experiment {name!r} cannot be run by name yet; runnable: {', '.join(EXPERIMENTS)} "
                         f"(the rest of the log, {', '.join(LATER)}, comes with the lineage registry)")
    return dict(EXPERIMENTS[key]["settings"])
