"""The registries: names written once (where they are registered), one-line errors, a light import \
path."""

from __future__ import annotations

import subprocess
import sys

import pytest
from train_helpers import REPO

from models.registry import REGISTRIES, TRANSFORMS, RegistryError, register_transform


def test_a_loss_or_a_transform_imports_no_network_code():
    code = (
        "import sys, models.losses, models.transforms, models.adain; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('timm', 'torchvision', "
        "'data_prep', 'weights') or m in ('models.vgg', 'models.vit', "
        "'models.resnet', 'models.decoders')))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]"


def test_unknown_names_and_clashes_are_one_line_errors():
    with pytest.raises(
        RegistryError, match=r"^unknown feature transform .*'nope'; choose one of adain, mean"
    ):
        TRANSFORMS["nope"]
    with pytest.raises(RegistryError, match=r"^transform 'wct' is registered twice"):
        register_transform("wct")(lambda c, s: c)
    with pytest.raises(RegistryError, match="use letters"):
        register_transform("a b")(lambda c, s: c)


def test_a_registered_name_is_everywhere_at_once_and_gone_when_removed():
    from configs.read import apply_overrides
    from configs.schema import Config

    register_transform("identity_test")(lambda content, style: content)
    try:
        assert (
            apply_overrides(Config(), ["model.transform=identity_test"]).model.transform
            == "identity_test"
        )
        assert "identity_test" in REGISTRIES["transform"]
    finally:
        TRANSFORMS.remove("identity_test")
    with pytest.raises(ValueError, match="not a registered transform"):
        apply_overrides(Config(), ["model.transform=identity_test"])
