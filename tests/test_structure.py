"""The traced structure of a model, normalised to its meaning, against Lab 9's specifications.

Fast (no kernel): real torch models are traced in this process by the kernel side's
`trace_forward`, exactly as the `structure` probe does inside a kernel, and their calls normalised
by grader/checks/structure.py. Every spelling of the specified network must match; every real
difference must be named.
"""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from grader.checks.modules import LayerSpec
from grader.checks.structure import match_layers, normalise
from grader.sandbox.kernel_side.models import parameters_in_forward_order, trace_forward

SPEC_22 = [  # rubrics/lab9.yaml, 2.2
    LayerSpec(type="Conv2d", attrs={"in_channels": 1, "out_channels": 8, "kernel_size": 5,
                                    "padding": 2}),
    LayerSpec(type="ReLU"),
    LayerSpec(type="MaxPool2d", attrs={"kernel_size": 2, "stride": 2}),
    LayerSpec(type="Flatten"),
    LayerSpec(type="Linear", attrs={"in_features": 1568, "out_features": 10}),
]
SPEC_12 = [  # rubrics/lab9.yaml, 1.2
    LayerSpec(type="Conv1d", attrs={"in_channels": 1, "out_channels": [3, 4], "kernel_size": 5,
                                    "padding": 2}),
    LayerSpec(type="ReLU"),
    LayerSpec(type="MaxPool1d", attrs={"global": True}),
    LayerSpec(type="Flatten"),
    LayerSpec(type="Linear", attrs={"out_features": 1}),
]


def problems(model: nn.Module, spec: list[LayerSpec], shape: tuple[int, ...]) -> list[str]:
    model.eval()
    calls = trace_forward(model, torch.rand(*shape)).calls
    return match_layers(normalise(calls), spec)


def problems_22(model: nn.Module) -> list[str]:
    return problems(model, SPEC_22, (3, 1, 28, 28))


def problems_12(model: nn.Module) -> list[str]:
    return problems(model, SPEC_12, (3, 1, 20))


class Functional22(nn.Module):
    """Attributes declared in another order, functional ReLU, pooling and view."""

    def __init__(self) -> None:
        super().__init__()
        self.classifier = nn.Linear(1568, 10)
        self.features = nn.Conv2d(1, 8, kernel_size=(5, 5), padding="same")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.max_pool2d(F.relu(self.features(x)), 2)
        return self.classifier(x.view(x.size(0), -1))


class TorchOps22(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.c = nn.Conv2d(1, 8, 5, 1, 2, bias=True)
        self.d = nn.Dropout(0.25)
        self.fc = nn.Linear(in_features=8 * 14 * 14, out_features=10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.relu(self.c(x))
        x = torch.flatten(nn.MaxPool2d(2)(x), 1)
        return self.fc(self.d(x).contiguous())


class PaddedByHand22(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(1, 8, 5)
        self.out = nn.Linear(1568, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv(F.pad(x, (2, 2, 2, 2))).relu()
        return self.out(F.max_pool2d(x, kernel_size=(2, 2), stride=(2, 2)).reshape(-1, 1568))


SPELLINGS_22 = {
    "handout's keywords": lambda: nn.Sequential(
        nn.Conv2d(in_channels=1, out_channels=8, kernel_size=5, padding=2), nn.ReLU(),
        nn.MaxPool2d(kernel_size=2, stride=2), nn.Flatten(), nn.Linear(1568, 10)),
    "padding='same'": lambda: nn.Sequential(
        nn.Conv2d(1, 8, 5, padding="same"), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
        nn.Linear(1568, 10)),
    "tuples everywhere": lambda: nn.Sequential(
        nn.Conv2d(1, 8, (5, 5), stride=(1, 1), padding=(2, 2)), nn.ReLU(inplace=True),
        nn.MaxPool2d((2, 2), (2, 2)), nn.Flatten(start_dim=1), nn.Linear(1568, 10, bias=True)),
    "nested blocks, identity and dropout": lambda: nn.Sequential(
        nn.Sequential(nn.Conv2d(1, 8, 5, padding=2), nn.Identity(), nn.ReLU()),
        nn.Sequential(nn.MaxPool2d(2), nn.Dropout(0.5), nn.Flatten()),
        nn.Linear(1568, 10)),
    "functional layers, attributes in another order": Functional22,
    "torch.relu, torch.flatten, dropout": TorchOps22,
    "F.pad before an unpadded conv, .relu(), reshape": PaddedByHand22,
}


@pytest.mark.parametrize("spelling", SPELLINGS_22)
def test_equivalent_spellings_of_the_2_2_convnet_match_the_specification(spelling: str) -> None:
    assert problems_22(SPELLINGS_22[spelling]()) == []


def seq22(*layers: nn.Module) -> nn.Sequential:
    return nn.Sequential(*layers)


def test_padding_1_is_named_as_not_padding_2() -> None:
    model = seq22(nn.Conv2d(1, 8, 5, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                  nn.Linear(8 * 13 * 13, 10))
    found = problems_22(model)
    assert any("should have padding=2" in p for p in found), found


def test_convnet_without_relu_is_named() -> None:
    model = seq22(nn.Conv2d(1, 8, 5, padding=2), nn.MaxPool2d(2), nn.Flatten(),
                  nn.Linear(1568, 10))
    assert problems_22(model) == ["expected a ReLU layer, found MaxPool2d(kernel_size=2, stride=2)"]


def test_average_pooling_is_not_max_pooling() -> None:
    model = seq22(nn.Conv2d(1, 8, 5, padding=2), nn.ReLU(), nn.AvgPool2d(2), nn.Flatten(),
                  nn.Linear(1568, 10))
    assert any("expected a MaxPool2d layer" in p for p in problems_22(model))


def test_reflect_padding_is_not_zero_padding() -> None:
    model = seq22(nn.Conv2d(1, 8, 5, padding=2, padding_mode="reflect"), nn.ReLU(),
                  nn.MaxPool2d(2), nn.Flatten(), nn.Linear(1568, 10))
    assert problems_22(model) != []


def test_dropout_left_active_in_eval_mode_is_an_extra_layer() -> None:
    class Active(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.net = seq22(nn.Conv2d(1, 8, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
                             nn.Flatten())
            self.fc = nn.Linear(1568, 10)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.fc(F.dropout(self.net(x), 0.5))  # training=True: not the identity

    assert any("Dropout" in p for p in problems_22(Active()))


def test_pool_before_relu_is_a_difference_of_order() -> None:
    model = seq22(nn.Conv2d(1, 8, 5, padding=2), nn.MaxPool2d(2), nn.ReLU(), nn.Flatten(),
                  nn.Linear(1568, 10))
    assert problems_22(model) != []


class Amax12(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv1d(1, 3, 5, padding=2)
        self.out = nn.Linear(3, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out(F.relu(self.conv(x)).amax(dim=2))


class TorchMax12(Amax12):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out(torch.max(torch.relu(self.conv(x)), dim=-1).values)


SPELLINGS_12 = {
    "handout's Sequential": lambda: nn.Sequential(
        nn.Conv1d(1, 3, 5, padding=2), nn.ReLU(), nn.MaxPool1d(20), nn.Flatten(),
        nn.Linear(3, 1)),
    "adaptive pool, 'same', 4 filters": lambda: nn.Sequential(
        nn.Conv1d(1, 4, (5,), padding="same"), nn.ReLU(), nn.AdaptiveMaxPool1d(1),
        nn.Flatten(), nn.Linear(4, 1)),
    "amax over the width": Amax12,
    "torch.max(..., dim=-1).values": TorchMax12,
}


@pytest.mark.parametrize("spelling", SPELLINGS_12)
def test_equivalent_spellings_of_the_1_2_convnet_match_the_specification(spelling: str) -> None:
    assert problems_12(SPELLINGS_12[spelling]()) == []


def test_pooling_over_part_of_the_width_is_not_global() -> None:
    model = nn.Sequential(nn.Conv1d(1, 3, 5, padding=2), nn.ReLU(), nn.MaxPool1d(10),
                          nn.Flatten(), nn.Linear(6, 1))
    assert any("global=True" in p for p in problems_12(model))


def test_filter_count_outside_the_alternatives_is_named() -> None:
    model = nn.Sequential(nn.Conv1d(1, 5, 5, padding=2), nn.ReLU(), nn.MaxPool1d(20),
                          nn.Flatten(), nn.Linear(5, 1))
    assert any("out_channels=[3, 4]" in p for p in problems_12(model))


def test_extra_sigmoid_is_named() -> None:
    model = nn.Sequential(nn.Conv1d(1, 3, 5, padding=2), nn.ReLU(), nn.MaxPool1d(20),
                          nn.Flatten(), nn.Linear(3, 1), nn.Sigmoid())
    (problem,) = problems_12(model)
    assert problem.startswith("unexpected extra layers") and "Sigmoid" in problem


def test_parameters_come_in_forward_order_whatever_the_declaration_order() -> None:
    model = Functional22()
    order = parameters_in_forward_order(model, torch.rand(2, 1, 28, 28))
    assert [tuple(p.shape) for p in order] == [(8, 1, 5, 5), (8,), (10, 1568), (10,)]
    assert next(tuple(p.shape) for p in model.parameters()) == (10, 1568)  # declared first


def test_a_forward_pass_that_raises_still_shows_the_layers_up_to_the_failure() -> None:
    model = seq22(nn.Conv2d(1, 8, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                  nn.Linear(8 * 28 * 28, 10))  # in_features for unpooled maps: raises
    trace = trace_forward(model.eval(), torch.rand(3, 1, 28, 28))
    assert isinstance(trace.error, RuntimeError) and trace.calls[-1].get("raised")
    found = match_layers(normalise(trace.calls), SPEC_22)
    assert found == ["Linear(6272, 10) should have in_features=1568"], found
