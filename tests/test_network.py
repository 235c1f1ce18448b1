"""The networks: small enough for a 2-core CPU, the right shapes, configs that survive a file."""

from __future__ import annotations

import json

import pytest
import torch

from model.recognition.network import ARCHITECTURES, NUM_CLASSES, NetConfig, build_network, count_parameters


def test_compact_network_is_small():
    assert count_parameters(build_network(NetConfig(arch="compact"))) <= 250_000


def test_compact_is_the_default_architecture():
    assert NetConfig().arch == "compact"


@pytest.mark.parametrize("arch", ARCHITECTURES)
@pytest.mark.parametrize("batch", [1, 5])
def test_every_architecture_gives_ten_logits_per_digit(arch, batch):
    torch.manual_seed(0)
    network = build_network(NetConfig(arch=arch))
    digits = torch.randn(batch, 1, 28, 28)  # (B, 1, 28, 28)
    network.train()  # batch norm and dropout on
    if batch > 1:  # batch norm cannot train on a single digit
        assert network(digits).shape == (batch, NUM_CLASSES)
    network.eval()
    with torch.inference_mode():
        logits = network(digits)
    assert logits.shape == (batch, NUM_CLASSES)
    assert torch.isfinite(logits).all()


@pytest.mark.parametrize("arch", ARCHITECTURES)
def test_eval_mode_gives_the_same_answer_for_a_digit_alone_or_in_a_batch(arch):
    torch.manual_seed(0)
    network = build_network(NetConfig(arch=arch)).eval()
    digits = torch.randn(4, 1, 28, 28)
    with torch.inference_mode():
        together = network(digits)
        alone = torch.cat([network(digit.unsqueeze(0)) for digit in digits])
    torch.testing.assert_close(alone, together, rtol=1e-4, atol=1e-5)


def test_config_settings_shape_the_network():
    small = build_network(NetConfig(stem_channels=8, mid_channels=8, top_channels=8))
    default = build_network(NetConfig())
    assert count_parameters(small) < count_parameters(default)
    assert count_parameters(build_network(NetConfig(arch="seed", hidden_units=16))) < \
        count_parameters(build_network(NetConfig(arch="seed")))


@pytest.mark.parametrize("config", [NetConfig(), NetConfig(arch="seed", hidden_units=64, dropout=0.25),
                                    NetConfig(stem_channels=16, mid_channels=24, top_channels=40)])
def test_config_round_trips_through_plain_types(config):
    values = config.to_dict()
    assert json.loads(json.dumps(values)) == values  # plain types only: safe for weights_only loading
    assert NetConfig.from_dict(values) == config
    assert NetConfig.from_dict(json.loads(json.dumps(values))) == config


def test_config_fills_missing_keys_with_defaults():
    assert NetConfig.from_dict({"arch": "seed"}) == NetConfig(arch="seed")


def test_unknown_architecture_is_refused():
    with pytest.raises(ValueError, match="resnet"):
        NetConfig.from_dict({"arch": "resnet"})
    with pytest.raises(ValueError, match="resnet"):
        build_network(NetConfig(arch="resnet"))


def test_unknown_settings_are_refused():
    values = {**NetConfig().to_dict(), "depth": 50}
    with pytest.raises(ValueError, match="depth"):
        NetConfig.from_dict(values)
