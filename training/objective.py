"""The training objective: runs a StyleTransferNet on a batch and scores it with a frozen VGG loss \
network (loss.loss_net: VGG19 or VGG16)."""

from __future__ import annotations

import torch
from torch import nn

from configs.schema import LossConfig
from models.losses import (
    content_loss,
    layer_weights,
    style_losses,
    style_targets,
    tv_loss,
    weighted_sum,
)
from models.net import StyleTransferNet
from models.vgg import VGG19_CHANNELS, VGGFeatures
from runtime.channels_last import keep_channels_last
from training.ccpl import CCPL
from training.distill import Distillation, load_teacher


class StyleTransferObjective(nn.Module):
    """Wraps the model and the loss network; forward(content, style) -> dict of losses and the
    output image.

    This is the module handed to accelerate/DDP, so gradient synchronisation sees the real forward.
    Frozen features are computed once: when the encoder is the same frozen VGG as the loss network
    (AdaIN recipe), the loss network's first layers ARE the encoder's modules, and one pass over the
    style image yields both the AdaIN input (relu4_1) and the style targets (relu1_1..relu4_1).

    Returned losses: `content` (MSE), `style` (sum_l w_l * style_l, unweighted by style_weight),
    `style/<layer>` (unweighted per layer), `tv`, with loss.ccpl_weight > 0 `ccpl`, with
    loss.teacher `teacher` (and `teacher_features`: training/distill.py), and `total` =
    content_weight * content + style_weight * style + tv_weight * tv (+ ccpl_weight * ccpl
    + teacher_weight * teacher + teacher_feature_weight * teacher_features).
    """

    def __init__(self, net: StyleTransferNet, cfg: LossConfig):
        super().__init__()
        self.net, self.cfg = net, cfg
        enc = net.cfg.encoder
        self.style_weights = layer_weights(cfg.style_layers, cfg.style_layer_weights)
        # loss.content_target=adain needs a vgg19 encoder and content_layers == [its layer]: checked
        # with every other cross-field rule when the config is read (configs/validate.py)
        self.shared = (
            enc.kind == cfg.loss_net
            and not enc.trainable
            and (enc.pretrained, enc.weights_file)
            == (cfg.loss_net_pretrained, cfg.loss_net_weights_file)
        )
        self.teacher_layers = list(cfg.teacher_layers) if cfg.teacher else []
        layers = [*cfg.style_layers, *cfg.content_layers, *cfg.ccpl_layers, *self.teacher_layers]
        layers = list(dict.fromkeys(layers))
        # a shared loss network is the encoder's network (pytorch-AdaIN's vgg_normalised: reflect
        # padding, its own weight layout and input normalization), so it reads the same file the
        # same way
        self.loss_net = VGGFeatures(
            layers,
            cfg.loss_net_pretrained,
            cfg.loss_net_weights_file,
            last_layer=net.layer if self.shared else None,
            **(net.encoder.arch if self.shared else {"arch": cfg.loss_net}),
        )
        # CCPL (training/ccpl.py): its heads train with the decoder (the optimizer takes every
        # trainable parameter of this module, and a checkpoint saves them with it)
        self.ccpl_layers = list(cfg.ccpl_layers) if cfg.ccpl_weight > 0 else []
        if self.ccpl_layers:
            self.ccpl = CCPL(
                {layer: VGG19_CHANNELS[layer] for layer in self.ccpl_layers},
                cfg.ccpl_samples,
                cfg.ccpl_tau,
            )
        # a frozen teacher (training/distill.py): its weights come from its file, not checkpoints
        if cfg.teacher:
            weights = {
                "teacher": cfg.teacher_weight,
                "teacher_features": cfg.teacher_feature_weight,
            }
            teacher = load_teacher(cfg.teacher)
            self.distill = Distillation(teacher, self.teacher_layers, weights, self.loss_net)
        if self.shared:
            for index, module in enumerate(net.encoder.body):
                # the same parameters: one network, computed once
                self.loss_net.body[index] = module
        # every network here meets NHWC: the batches in train.memory_format, a ViT's token map in
        # any run (runtime/channels_last.py)
        keep_channels_last(self)

    def forward(
        self, content: torch.Tensor, style: torch.Tensor, alpha: float = 1.0
    ) -> dict[str, torch.Tensor]:
        cfg, net = self.cfg, self.net
        content, style = net.pad(content), net.pad(style)
        content_layers = list(cfg.content_layers) if cfg.content_target == "content" else []
        with torch.no_grad():  # frozen features of the inputs
            if self.shared:
                c_feats = self.loss_net(content, [net.layer, *content_layers, *self.ccpl_layers])
                s_feats = self.loss_net(style, list(dict.fromkeys([net.layer, *cfg.style_layers])))
                c_enc, s_enc = c_feats[net.layer], s_feats[net.layer]
            else:
                c_layers = list(dict.fromkeys([*content_layers, *self.ccpl_layers]))
                c_feats = self.loss_net(content, c_layers) if c_layers else {}
                s_feats = self.loss_net(style, cfg.style_layers)
        # a trainable encoder needs its graph; a frozen one computes no grad anyway
        if not self.shared:
            c_enc, s_enc = net.encode(content), net.encode(style)
        targets = style_targets(cfg.style_loss, s_feats, cfg.style_layers)
        image, t = net.stylize_features(c_enc, [net.style_stats(s_enc)], alpha=alpha)
        o_layers = [*cfg.style_layers, *cfg.content_layers, *self.ccpl_layers, *self.teacher_layers]
        o_feats = self.loss_net(image, list(dict.fromkeys(o_layers)))
        if cfg.teacher:  # training/distill.py; here, while `content` and `style` are the images
            feats = (c_feats, s_feats, o_feats)
            taught = self.distill(content, style, image, alpha, self.loss_net, feats)

        if cfg.content_target == "adain":  # ||f(g(t)) - t|| (AdaIN paper, eq. 2)
            out_feat = o_feats[net.layer] if self.shared else net.encode(image)
            content = content_loss(out_feat, t.detach())
        else:  # content loss on the loss network's features of the content image (ViT notebook)
            content = sum(content_loss(o_feats[layer], c_feats[layer]) for layer in content_layers)
        per_layer = style_losses(cfg.style_loss, o_feats, targets)
        style = weighted_sum(per_layer, self.style_weights)
        tv = tv_loss(image) if cfg.tv_weight > 0 else image.new_zeros((), dtype=torch.float32)
        total = cfg.content_weight * content + cfg.style_weight * style + cfg.tv_weight * tv
        losses = {"total": total, "content": content, "style": style, "tv": tv}
        if self.ccpl_layers:
            losses["ccpl"] = self.ccpl(o_feats, c_feats)
            losses["total"] = total + cfg.ccpl_weight * losses["ccpl"]
        if cfg.teacher:
            losses.update(taught, total=losses["total"] + self.distill.weighted(taught))
        losses.update({f"style/{layer}": value for layer, value in per_layer.items()})
        losses["image"] = image
        return losses
