"""The query-like augmentation: each degradation does what a cheque scan does to a signature."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from training.augment import augment_batch, query_like  # noqa: E402


def _strokes() -> torch.Tensor:
    """Two samples on the 128x256 canvas: a faint and a dark diagonal stroke, ink bright."""
    x = torch.zeros(2, 1, 128, 256)
    for i in range(100):
        x[0, 0, 14 + i, 40 + i] = 0.08
        x[1, 0, 14 + i, 80 + i] = 0.9
        x[1, 0, 14 + i, 81 + i] = 0.6
    return x


def _gen() -> torch.Generator:
    return torch.Generator().manual_seed(0)


def test_off_by_default_and_at_zero_probability():
    x = _strokes()
    assert torch.equal(query_like(x, _gen(), {}), x)
    assert torch.equal(augment_batch(x, _gen(), {"enabled": False, "query": {"bitonal_p": 1.0}}), x)


def test_bitonal_drops_faint_ink_and_leaves_one_level_per_sample():
    out = query_like(_strokes(), _gen(), {"bitonal_p": 1.0})
    assert out[0].max() == 0  # ink at 0.08 is below every cut (0.10-0.35): gone, as on a bitonal scan
    levels = out[1][out[1] > 0].unique()
    assert levels.numel() == 1 and 0.7 <= float(levels) <= 1.0


def test_rule_crosses_the_lower_part_of_the_canvas():
    out = query_like(torch.zeros(4, 1, 128, 256), _gen(), {"rule_p": 1.0})
    for sample in out[:, 0]:
        rows = (sample > 0).all(dim=1).nonzero().flatten()
        assert rows.numel() == 2 and int(rows[0]) >= int(0.55 * 128)


def test_wider_pen_and_blur_spread_ink_without_moving_it():
    x = _strokes()
    for key in ("width_p", "blur_p", "lowres_p"):
        out = query_like(x, _gen(), {key: 1.0})
        assert (out > 0.01).sum() > (x > 0.01).sum(), key
        # the stroke stays where it was: the centre of ink mass moves by less than a pixel
        ys = torch.arange(128.0).view(1, 1, -1, 1)
        assert torch.allclose((out * ys).sum((2, 3)) / out.sum((2, 3)), (x * ys).sum((2, 3)) / x.sum((2, 3)),
                              atol=1.0), key


def test_bitonal_scan_halves_resolution_and_keeps_two_levels():
    import numpy as np

    from training.degraded import bitonal_scan

    gray = np.full((200, 400), 235, np.uint8)
    gray[90:110, 50:350] = 40  # a dark stroke on light paper
    out = bitonal_scan(gray)
    assert out.shape == (100, 200)
    assert set(np.unique(out).tolist()) == {0, 255}
    assert out[50, 100] == 0 and out[10, 10] == 255


def test_k1_scores_compare_queries_with_clean_references():
    import numpy as np

    from training.degraded import k1_scores

    # two writers; each writer's genuine embeddings point one way, the forgery of writer a elsewhere
    refs = np.array([[1, 0], [1, 0], [0, 1], [0, 1], [0.6, 0.8]], np.float32)
    writers = np.array(["a", "a", "b", "b", "a"])
    genuine = np.array([True, True, True, True, False])
    g, s, r = k1_scores(refs, refs, writers, genuine)
    assert np.allclose(g, 1.0) and g.size == 2
    assert np.allclose(s, 0.6) and np.allclose(r, 0.0)
