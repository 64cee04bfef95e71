"""The CCycleGAN lineage's experiments (T-ids of the original log), as the differences each made from its parent.

Each entry does what the original's code at HEAD did; where the README's log says something else, its `about` says
so after "log:" (`--list-experiments` prints it). Settings are command-line destinations of the ccyclegan family.
Facts: `../shared/reference/ccyclegan.md` §2.5, §4, §7 and §8; the story and the results: docs/lineage.md.
"""

from train.experiment import Experiment

# What T17 starts over from: the U-Net era's settings back to the family's defaults (T17 is a rewrite, not a tweak).
_UNET_RESET = {"g_label": "input", "g_extra_blocks": 0, "d_label": "input", "d_head": "patch",
               "adversarial_loss": "bce", "g_adversarial_loss": "same", "id_loss_w": 0.0, "d_wrong_label": False,
               "d_update": "joint"}

CCYCLEGAN_EXPERIMENTS = (
    Experiment("T1", "ccyclegan", "conditional U-Net G and PatchGAN D, both conditioned by Embedding(label) x image; "
               "LSGAN (mse); D: (true, real) -> 1, (wrong label, real) -> 0, (target, fake) -> 0 as three updates; "
               "G: 20 x adversarial + 1 x true cycle + 0.1 x identity; no flips; 200 epochs. Fixed: the original's "
               "load_batch(batch_size) call (domain=64) could not run [log: adversarial weight 1]", None,
               {"architecture": "unet", "g_label": "input", "d_label": "input", "d_head": "patch",
                "adversarial_loss": "lsgan", "g_gan_loss_w": 20, "rec_loss_w": 1, "id_loss_w": 0.1,
                "d_wrong_label": True, "d_update": "per-group", "d_g_ratio": 1, "epochs": 200, "batch_size": 64,
                "no_flip": True, "gf": 32, "df": 64}),
    Experiment("T2", "ccyclegan", "T1 with cycle weight 10 and identity 1.0 (adversarial still 20) "
               "[log: 'adversarial weight 20', which T1's code already had]", "T1",
               {"rec_loss_w": 10, "id_loss_w": 1.0}),
    Experiment("T3", "ccyclegan", "binary cross-entropy instead of LSGAN; D head Dense(128) on the patch map -> "
               "LeakyReLU -> Dropout(0.4) -> Dense(1); weights 7 / 10 / identity 0", "T2",
               {"adversarial_loss": "bce", "d_head": "dense", "g_gan_loss_w": 7, "rec_loss_w": 10, "id_loss_w": 0.0}),
    Experiment("T4", "ccyclegan", "plain unconditional CycleGAN Neutral <-> Happy (G_AB, G_BA, D_A, D_B, "
               "PatchGAN, LSGAN), weights adversarial 1, cycle 10, identity 1, batch 1", "T2",
               {"architecture": "cyclegan", "d_label": "none", "d_wrong_label": False, "g_gan_loss_w": 1,
                "rec_loss_w": 10, "id_loss_w": 1.0, "batch_size": 1, "sample_interval": 3000, "domains": [6, 3]}),
    Experiment("T5", "ccyclegan", "label concatenated after the convolutions: Embedding(7, 99) beside the "
               "flattened 3x3x256 bottleneck (3x3x267); D as T1 (mse); weights 1 / cycle 10, no identity", "T2",
               {"g_label": "concat-bottleneck", "g_gan_loss_w": 1, "rec_loss_w": 10, "id_loss_w": 0.0}),
    Experiment("T6", "ccyclegan", "RGB; D = ImageNet ResNet50 (C1's network; --resnet-weights FILE, else random "
               "weights) trained with BCE on one joint batch of true-real, wrong-real, target-fake; G's adversarial "
               "loss stays mse on D's probability [log: 'make G predict on train images']", "T5",
               {"channels": 3, "d_head": "resnet50", "adversarial_loss": "bce", "g_adversarial_loss": "mse",
                "d_update": "joint"}),
    Experiment("T7", "ccyclegan", "T6 without the (wrong label, real) group: D on 2B [log: 'ResNet50 as D', "
               "which T6 already was]", "T6",
               {"d_wrong_label": False}),
    Experiment("T8", "ccyclegan", "T7 plus a frozen pre-trained classifier (C2; give it with --frozen-classifier) "
               "on the fake: mae between its softmax and the target; weights 1 / cycle 5 / class 5. The unshuffled "
               "D batch changes nothing here (one update on the batch mean) [log: 'remove shuffling; train D only "
               "on real-true']", "T7",
               {"frozen_cl_loss_w": 5.0, "rec_loss_w": 5}),
    Experiment("T9", "ccyclegan", "ACGAN-style D (no ResNet): PatchGAN map (mse) + an 8-way softmax head (class 7 = "
               "fake) trained with binary cross-entropy as the original; real and fake batches as two updates; G: "
               "adversarial 1, cycle 1, class cross-entropy 1 [log: 'frozen ResNet50 as D']", "T8",
               {"d_head": "acgan", "d_label": "none", "adversarial_loss": "lsgan", "g_adversarial_loss": "same",
                "frozen_cl_loss_w": 0.0, "frozen_classifier": None, "rec_loss_w": 1, "g_cl_loss_w": 1,
                "d_cl_loss_w": 1, "d_update": "per-group", "d_wrong_label": False}),
    Experiment("T10", "ccyclegan", "back to T1 (gray, label x input, PatchGAN mse, identity) with adversarial "
               "weight 2 (weights 2 / 1 / 0.1); flips on from here (the loader's flip was dead code before)", "T1",
               {"g_gan_loss_w": 2, "no_flip": False}),
    Experiment("T11", "ccyclegan", "label in G after the convolutions: Embedding(7, 2304) times the flattened "
               "3x3x256 bottleneck; D unchanged", "T10",
               {"g_label": "multiply-bottleneck"}),
    Experiment("T12", "ccyclegan", "deeper G: two extra stride-1 blocks at the bottleneck (label multiplied after "
               "the second), five up blocks; 400 epochs [log: 'dropout', which the code does not have]", "T11",
               {"g_extra_blocks": 2, "epochs": 400, "sample_interval": 400}),
    Experiment("T13", "ccyclegan", "T11 trained 300 epochs", "T11", {"epochs": 300}),
    Experiment("T14", "ccyclegan", "label in D after the convolutions: the validity map times Embedding(7, 9); "
               "D on one joint 3B batch (true, wrong, fake)", "T13",
               {"d_label": "after", "d_update": "joint"}),
    Experiment("T15", "ccyclegan", "T14 without the (wrong label, real) group: D on 2B", "T14",
               {"d_wrong_label": False}),
    Experiment("T16", "ccyclegan", "T13's input-conditioned D on one joint 2B batch (no wrong-label group)", "T13",
               {"d_wrong_label": False, "d_update": "joint"}),
    Experiment("T17", "ccyclegan", "G split into G_enc / G_dec ('same' padding, gf 32, label embedded at the "
               "bottleneck); unconditional D with real/fake and softmax class heads (Dense 800); reconstruction = "
               "G_dec(z, own label), no true cycle from here on; one random translation per image; the original's "
               "bug kept: D's fake class target and G's class target are another random label than the one G "
               "decodes (--fake-class-target target fixes it); weights 1/1, 1/1/1; d_g_ratio 10; 400 epochs", "T16",
               {**_UNET_RESET, "architecture": "t17", "gf": 32, "df": 64, "translations": "one",
                "fake_class_target": "unrelated", "class_activation": "softmax", "g_gan_loss_w": 1, "g_cl_loss_w": 1,
                "rec_loss_w": 1, "d_gan_loss_w": 1, "d_cl_loss_w": 1, "d_g_ratio": 10, "epochs": 400}),
    Experiment("T18", "ccyclegan", "the final networks (models.py: 'valid' padding, gf 64, ConvTranspose decoder, "
               "one-hot label at the 1x1 bottleneck, Dense 512 heads), softmax class head, no transform layer; "
               "fakes labelled with their target (T17's bug fixed); d_g_ratio 2", "T17",
               {"architecture": "final", "gf": 64, "transform_layer": "off", "fake_class_target": "target",
                "d_g_ratio": 2}),
    Experiment("T19", "ccyclegan", "class loss weight 7: D 1/7, G 1/7/1", "T18",
               {"d_cl_loss_w": 7, "g_cl_loss_w": 7}),
    Experiment("T20", "ccyclegan", "T19 plus the transform layer (Dense + LeakyReLU) at G_dec's bottleneck", "T19",
               {"transform_layer": "on"}),
    Experiment("T21", "ccyclegan", "sigmoid class head trained with BCE; D weights 1/3 (G keeps its cross-entropy, "
               "on the renormalised sigmoids, 1/7/1)", "T20",
               {"class_activation": "sigmoid", "d_cl_loss_w": 3}),
    Experiment("T22", "ccyclegan", "an all-zero class target for fakes in D; G 1/3/1, D 1/3", "T21",
               {"fake_class_target": "zero", "g_cl_loss_w": 3}),
    Experiment("T23", "ccyclegan", "weights back to 1 (D 1/1, G 1/1/1), 600 epochs. The original also trained on "
               "the test splits (leakage): only with --use-test-in-train [log: 'T22 trained longer (400 epochs)'; "
               "the README lists file t24 for it]", "T22",
               {"d_cl_loss_w": 1, "g_cl_loss_w": 1, "epochs": 600}),
    Experiment("T24", "ccyclegan", "all 6 other expressions per sample: D on 7B, six sequential B-sized G updates, "
               "d_g_ratio 1, weights 1, 600 epochs [the README lists file t22 for it]", "T23",
               {"translations": "all", "g_step": "sequential", "d_g_ratio": 1, "epochs": 600, "g_gan_loss_w": 1,
                "g_cl_loss_w": 1, "rec_loss_w": 1}),
    Experiment("T25", "ccyclegan", "T24 with one G update on all 6B translations, 200 epochs", "T24",
               {"g_step": "batched", "epochs": 200}),
    Experiment("T26", "ccyclegan", "the final model: G weights 2/2/1 (adversarial/expression/reconstruction), "
               "d_g_ratio 5, 170 epochs (the family's defaults)", "T25",
               {"d_g_ratio": 5, "epochs": 170, "g_gan_loss_w": 2, "g_cl_loss_w": 2}),
    Experiment("T27", "ccyclegan", "the search: T26 for each G adversarial weight {1, 2} x class weight {1, 2} x "
               "learning rate {2e-4, 1e-4}, each scored by the Frechet distance of its translations per target "
               "class; writes search.csv and picks the lowest mean (the original picked by hand; 200 epochs each)",
               "T26", {"search": True, "epochs": 200}),
    Experiment("quickstart", "ccyclegan", "not in the log: a CPU preset of T26 that shows the product in about 10 "
               "minutes on 2 cores (half widths, attention mask, one epoch at batch 24, then an evaluation)", "T26",
               {"gf": 32, "df": 32, "d_g_ratio": 1, "adam_lr": 0.0005, "g_gan_loss_w": 1, "g_cl_loss_w": 5,
                "rec_loss_w": 10, "attention_mask": True, "decoder_edge": "replicate",
                "lr_schedule": "linear-decay", "batch_size": 24, "epochs": 1, "sample_interval": 400,
                "evaluate_after": True, "eval_n": 300}),
)
