"""Losses against values computed by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from training.losses import (  # noqa: E402
    batch_hard_cosine_loss,
    contrastive_loss,
    logistic_pair_loss,
    triplet_l2_loss,
)


class _Fixed:
    """S = A·Pᵀ is fixed by choosing A = I (3x3) and P = Sᵀ: then A·Pᵀ = S exactly."""

    @staticmethod
    def pair(s: list[list[float]]):
        s_t = torch.tensor(s, dtype=torch.float64)
        return torch.eye(s_t.shape[0], dtype=torch.float64), s_t.T.contiguous()


def test_batch_hard_cosine_hand_values():
    # row 0: pos .9, negs .5 .2 -> closest .5, mean .35 -> relu(.25-.9+.5)=0, relu(.25-.9+.35)=0
    # row 1: pos .6, negs .4 .7 -> closest .4 (.7 is above), mean .55
    #        -> relu(.25-.6+.4)=.05, relu(.25-.6+.55)=.20
    # row 2: pos .3, negs .1 .2 -> closest .2, mean .15 -> .15, .10
    a, p = _Fixed.pair([[0.9, 0.5, 0.2], [0.4, 0.6, 0.7], [0.1, 0.2, 0.3]])
    loss = batch_hard_cosine_loss(a, p, margin=0.25)
    assert loss.item() == pytest.approx(0.05 + 0.20 + 0.15 + 0.10, abs=1e-12)


def test_batch_hard_cosine_no_negative_below_falls_back_to_mean():
    # row 0: pos .1, negs .5 .3 both above -> closest = mean = .4 -> 2 * relu(.25-.1+.4) = 1.1
    # row 1: pos .9, negs .2 .8 -> closest .8, mean .5 -> relu(.15)=.15, relu(-.15)=0
    # row 2: pos .7, negs .6 .6 -> closest .6, mean .6 -> .15 + .15
    a, p = _Fixed.pair([[0.1, 0.5, 0.3], [0.2, 0.9, 0.8], [0.6, 0.6, 0.7]])
    loss = batch_hard_cosine_loss(a, p, margin=0.25)
    assert loss.item() == pytest.approx(1.1 + 0.15 + 0.30, abs=1e-12)


def test_batch_hard_cosine_equal_to_positive_is_not_below():
    # row 0: pos .5, negs .5 (equal, not below) and .1 -> closest .1, mean .3
    a, p = _Fixed.pair([[0.5, 0.5, 0.1], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
    loss = batch_hard_cosine_loss(a, p, margin=0.25)
    # row 0: relu(.25-.5+.1)=0, relu(.25-.5+.3)=.05; rows 1, 2: pos 1, negs 0 -> 0
    assert loss.item() == pytest.approx(0.05, abs=1e-12)


def test_batch_hard_cosine_extra_negatives_are_columns():
    a = torch.eye(2, dtype=torch.float64)
    p = torch.tensor([[0.8, 0.0], [0.0, 0.8]], dtype=torch.float64)  # S = .8 I
    f = torch.tensor([[0.7, 0.0]], dtype=torch.float64)  # a forgery close to writer 0
    # row 0: negs 0 (p1), .7 (f) -> closest .7, mean .35 -> relu(.25-.8+.7)=.15, relu(-.2)=0
    # row 1: negs 0, 0 -> closest 0, mean 0 -> 0
    assert batch_hard_cosine_loss(a, p, extra_negatives=f).item() == pytest.approx(0.15, abs=1e-12)


def test_batch_hard_cosine_gradient_flows():
    a = torch.nn.functional.normalize(torch.randn(4, 8, dtype=torch.float64), dim=1).requires_grad_()
    p = torch.nn.functional.normalize(torch.randn(4, 8, dtype=torch.float64), dim=1)
    batch_hard_cosine_loss(a, p).backward()
    assert a.grad is not None and torch.isfinite(a.grad).all()


def test_triplet_l2_hand_values():
    a = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    p = torch.tensor([[0.6, 0.8], [0.0, 1.0]])  # d_ap: .16+.64=.8 ; 0
    n = torch.tensor([[0.0, 1.0], [1.0, 0.0]])  # d_an: 2 ; 2
    # row 0: relu(.8-2+.2)=0 -> with margin 1.5: .3 ; row 1: relu(0-2+1.5)=0
    assert triplet_l2_loss(a, p, n, margin=0.2).item() == pytest.approx(0.0)
    assert triplet_l2_loss(a, p, n, margin=1.5).item() == pytest.approx(0.3 / 2, abs=1e-6)


def test_contrastive_hand_values():
    x1 = torch.tensor([[0.0, 0.0], [0.0, 0.0]])
    x2 = torch.tensor([[0.3, 0.4], [0.3, 0.4]])  # D = .5 for both
    same = torch.tensor([1.0, 0.0])
    # same: .5² = .25 ; different: relu(1 - .5)² = .25 -> mean .25
    assert contrastive_loss(x1, x2, same, margin=1.0).item() == pytest.approx(0.25, abs=1e-6)
    # different pair beyond the margin costs nothing
    assert contrastive_loss(x1, x2, torch.tensor([0.0, 0.0]), margin=0.4).item() == pytest.approx(0.0)


def test_logistic_hand_values():
    logits = torch.tensor([0.0, 2.0])
    same = torch.tensor([1.0, 0.0])
    expected = (math.log(2) + math.log(1 + math.exp(2))) / 2
    assert logistic_pair_loss(logits, same).item() == pytest.approx(expected, abs=1e-6)


def test_training_loss_options_symmetric_and_skilled_term():
    from training.train import _loss

    a = torch.eye(2, dtype=torch.float64)
    p = torch.tensor([[0.8, 0.0], [0.0, 0.8]], dtype=torch.float64)
    f = torch.tensor([[0.7, 0.0], [0.0, 0.0]], dtype=torch.float64)
    emb = torch.cat([a, p, f])
    base = _loss({"name": "batch_hard", "margin": 0.25}, emb, 2, None)
    # rows: 0 -> closest .7 (forgery column): .15; 1 -> 0
    assert base.item() == pytest.approx(0.15, abs=1e-12)
    # skilled term: relu(.25 - .8 + .7) = .15 for row 0, relu(.25 - .8 + 0) = 0 for row 1
    skilled = _loss({"name": "batch_hard", "margin": 0.25, "skilled_weight": 2.0}, emb, 2, None)
    assert skilled.item() == pytest.approx(0.15 + 2 * 0.15, abs=1e-12)
    # symmetric: P as anchors, A as positives: S' = P·Aᵀ = .8 I; forgery column P·Fᵀ: row 0 .56
    # row 0: closest .56 -> relu(.25-.8+.56) = .01; mean (0+.56)/2 = .28 -> 0
    sym = _loss({"name": "batch_hard", "margin": 0.25, "symmetric": True}, emb, 2, None)
    assert sym.item() == pytest.approx(0.15 + 0.01, abs=1e-12)


def test_forgery_head_labels_skilled_negatives_as_forgeries_and_the_rest_as_genuine():
    from types import SimpleNamespace

    from training.train import _forgery_loss

    head = torch.nn.Linear(2, 1)
    with torch.no_grad():
        head.weight.copy_(torch.tensor([[1.0, 0.0]]))
        head.bias.zero_()
    # rows: anchors (2), positives (2), negatives (2): the first negative a skilled forgery
    genuine, forged = [-8.0, 0.0], [8.0, 0.0]
    batch = SimpleNamespace(anchor=np.zeros(2), negative_is_skilled=np.array([True, False]))
    right = torch.tensor([genuine, genuine, genuine, genuine, forged, genuine])
    wrong = torch.tensor([genuine, genuine, genuine, genuine, genuine, forged])
    assert _forgery_loss(head, right, batch, "cpu").item() < 0.01
    assert _forgery_loss(head, wrong, batch, "cpu").item() > 2.0
