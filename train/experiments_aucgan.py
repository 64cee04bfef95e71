"""The AU-conditioned family's experiments e1..e9, each as what its code did (`../shared/reference/au_gan.md` §3, §5).

The settings are command-line destinations of `train/aucgan.py`. Where an experiment's original behaviour was a bug
the library fixes by default (e1/e2's NaN-prone norm, e5/e6's zeroing 1x1 norm), the experiment runs the fixed
version and the original is one flag away (`--keras-norm original`, `--degenerate-norm`); docs/aucgan.md has the
table of both.
"""

from train.experiment import Experiment

# e1..e4: Keras U-Net G and multi-task D; D trains on one batch of B reals + K B fakes and regresses the fakes' targets.
_KERAS = {"generator": "unet", "critic": "keras", "d_au_on_fakes": True, "joint_d_batch": True, "au_kind": "intensity",
          "target_mode": "other-samples", "target_noise": 0.1, "sampling": "replacement", "inject_layers": 0,
          "d_gan_w": 1.0, "d_au_w": 1.0, "rec_w": 1.0, "cycle": "self"}
# e5..e9: PyTorch; WGAN-GP (penalty weight 10), D regresses real AUs only, lambda_cl weighs D's and G's AU losses.
_TORCH = {"adversarial": "wgan-gp", "gp_weight": 10.0, "d_au_on_fakes": False, "joint_d_batch": False,
          "d_gan_w": 1.0, "g_gan_w": 1.0, "rec_w": 10.0, "d_g_ratio": 1, "batch_size": 32, "sampling": "replacement",
          "target_noise": 0.0, "cycle": "self"}

AUCGAN_EXPERIMENTS = (
    Experiment("e1", "aucgan", "train_1 + models_1 (03fedd8): Keras U-Net, BCE real/fake + MSE on a linear AU head "
               "(D also regresses the fakes' targets), G weights 2/2/1, 1 target per image from another sample + "
               "U(-0.1, 0.1), d_g_ratio 5, raw 0..5 AU_r, Dense layers glorot_normal; NaN in the original", None,
               {**_KERAS, "adversarial": "bce", "au_loss": "mse", "au_head": "linear", "g_gan_w": 2.0, "g_au_w": 2.0,
                "targets_per_image": 1, "d_g_ratio": 5, "au_normalization": "none", "dense_init": "glorot_normal",
                "batch_size": 32, "epochs": 170, "sample_interval": 200}),
    Experiment("e2", "aucgan", "e1 with glorot_uniform Dense layers (c69e13c, the Keras default); NaN in the "
               "original too", "e1", {"dense_init": "glorot_uniform"}),
    Experiment("e3", "aucgan", "train_wgan + models_wgan, the README's 'WGAN': least squares on a *sigmoid* real/fake "
               "output (no Wasserstein critic, no clipping, no penalty), MSE AU loss, 10 targets per image, "
               "d_g_ratio 1, G weights 1/1/1, AU_r normalised to [0, 1], batch 64", "e2",
               {"adversarial": "lsgan-sigmoid", "targets_per_image": 10, "d_g_ratio": 1, "g_gan_w": 1.0,
                "g_au_w": 1.0, "au_normalization": "5", "batch_size": 64, "sample_interval": 1000}),
    Experiment("e4", "aucgan", "train_gan_custom_au_loss + models_gan: BCE real/fake, sigmoid AU head trained with "
               "-log(1 - |a - b|) on D and G, 10 targets per image, d_g_ratio 5, G weights 2/2/1", "e3",
               {"adversarial": "bce", "au_loss": "log-abs", "au_head": "sigmoid", "d_g_ratio": 5, "g_gan_w": 2.0,
                "g_au_w": 2.0}),
    Experiment("e5", "aucgan", "train_gan_pytorch: PyTorch U-Net (k6, 1x1 bottleneck, one skip, IN + LeakyReLU "
               "output) and critic, WGAN-GP, binary AU_c with BCE-with-logits, the 17 one-AU-flipped targets per "
               "image, lambda_cl = lambda_cyc = 10; the original's 1x1 instance norm zeroed the critic's features "
               "(--degenerate-norm)", None,
               {**_TORCH, "generator": "unet-e5", "critic": "pytorch", "au_kind": "presence", "au_loss": "bce",
                "au_head": "linear", "target_mode": "flip-one-au", "targets_per_image": 1, "d_au_w": 10.0,
                "g_au_w": 10.0, "epochs": 170, "sample_interval": 1000, "inject_layers": 0}),
    Experiment("e6", "aucgan", "e5 with a k4/s2 U-Net (5x5 bottleneck, AUs tiled), one random other sample's AU_c as "
               "the target, lambda_cl = 100; the critic is e5's (degenerate in the original)", "e5",
               {"generator": "unet-e6", "target_mode": "other-samples", "d_au_w": 100.0, "g_au_w": 100.0}),
    Experiment("e7", "aucgan", "train_gan_pytorch_3: AttGAN encoder/decoder (5 layers, BatchNorm, 3x3 bottleneck, "
               "one skip, tanh) and AttGAN critic (IN, FC 1024): the first critic that worked; lambda_cl = 10",
               "e6", {"generator": "attgan", "critic": "attgan", "inject_layers": 0, "d_au_w": 10.0,
                      "g_au_w": 10.0}),
    Experiment("e8", "aucgan", "train_gan_pytorch_4, the final model: e7 plus the AUs injected again after the first "
               "decoder block (7x7); lambda_cl = lambda_cyc = 10 as its committed log (the code's default is 100)",
               "e7", {"inject_layers": 1, "sample_interval": 4000}),
    Experiment("e9", "aucgan", "the .regress files: e8 on AU_r intensities divided by each AU's maximum, L1 AU loss "
               "on the linear head", "e8",
               {"au_kind": "intensity", "au_normalization": "column_max", "au_loss": "l1", "au_head": "linear"}),
    Experiment("au-cpu", "aucgan", "not in the original: the family's default (e8 on AU intensities / 5, BCE AU "
               "head) reduced for a CPU hour: 64x64 faces, widths 16, heads 128, the original's one skip (the "
               "smallest encoder map), GANimation's attention mask, batch 16, 26 epochs of the 4,500 synthetic faces "
               "(36 minutes on one thread of an Intel Xeon), with the library's options: 2,000 AU-head warm-up "
               "iterations, the AU head's low-pass, nearest up-sampling, the kept-colour term (weight 10), the AU "
               "head trained on real faces moved by up to 0.015 towards its worst reading, and an exponential moving "
               "average of G's weights (decay 0.9999, ramp span 0.25: about the last quarter of the run) for its "
               "samples, exports and evaluation", None,
               {"image_size": 64, "gf": 16, "df": 16, "fc_dim": 128, "shortcut_layers": 1, "attention_mask": True,
                "mask_w": 0.05, "mask_smooth_w": 0.1, "batch_size": 16, "epochs": 26, "sample_interval": 250,
                "checkpoint_interval": 250, "critic_warmup": 2000, "au_low_pass": True, "upsample": "nearest",
                "kept_colour_w": 10.0, "au_robust_eps": 0.015, "g_average": 0.9999, "g_average_span": 0.25}),
)
