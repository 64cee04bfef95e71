"""GANimation's named configurations (`../shared/reference/ganimation_cyclegan.md` parts A, B): the official code,
vipermu's port, the TensorLayer course port's loss scaling, and the CPU preset the README's quality run used."""

from train.experiment import Experiment

GANIMATION_EXPERIMENTS: tuple[Experiment, ...] = (
    Experiment("ganimation-official", "ganimation", "albertpumarola/GANimation launch/run_train.sh: batch 25, 20 + "
               "10 epochs (linear decay), lambda_D_cond 4000 on MSE/B, summed mask TV 1e-5, flips (the defaults)",
               None, {}),
    Experiment("ganimation-vipermu", "ganimation", "vipermu/ganimation: lambda_cls 160 on the plain MSE, mean mask "
               "TV 1e-4, batch 16, no flips, the rate x0.9 per epoch after epoch 20", "ganimation-official",
               {"lambda_D_cond": 160.0, "cond_per_batch": False, "lambda_mask_smooth": 1e-4,
                "mask_smooth_form": "mean", "batch_size": 16, "flip": False, "lr_schedule": "epoch-decay"}),
    Experiment("ganimation-tl-port", "ganimation", "shuliyao/GANimation_TL's loss scaling: lambda_D_au 4000 on the "
               "plain MSE (25x the official), summed TV 1e-5; its wrong gradient penalty is not reproduced",
               "ganimation-official", {"cond_per_batch": False}),
    Experiment("ganimation-cpu", "ganimation", "not in the originals: the README's CPU quality run (52 minutes on one "
               "thread) on 64x64 synthetic faces (widths 16, 2 residual blocks, batch 8, 1 critic step per G step, "
               "Adam 2e-4 for G and 3e-4 for D, 22 epochs, the last 8 decaying, lambda_mask 0.2) with the library's "
               "options: 2,000 AU-head warm-up iterations, low-pass, shifts of up to 2 pixels, nearest up-sampling "
               "and the kept-colour term (weight 10)", "ganimation-official",
               {"g_conv_dim": 16, "d_conv_dim": 16, "g_repeat_num": 2, "batch_size": 8, "n_critic": 1,
                "lr_G": 2e-4, "lr_D": 3e-4, "epochs": 22, "lr_decay_epochs": 8, "lambda_mask": 0.2,
                "critic_warmup": 2000, "au_low_pass": True, "au_shift": 2, "upsample": "nearest",
                "lambda_kept_colour": 10.0, "sample_interval": 1000}),
)
