"""Candidate sets C_t (true token first, then the top K−1 of the others, ties to the lower column) and the mix."""
import pytest
import torch

from vpt_torch.topk import mix_weights, top_k_candidates, top_k_excluding


def test_candidates_by_hand() -> None:
    logits = torch.tensor([[0.1, 0.9, 0.5, 0.7, 0.2], [3.0, 1.0, 2.0, 0.0, -1.0]])
    c = top_k_candidates(logits, torch.tensor([1, 4]), 3)
    assert c.ids.tolist() == [[1, 3, 2], [4, 0, 2]]
    assert torch.equal(c.logits, torch.tensor([[0.9, 0.7, 0.5], [-1.0, 3.0, 2.0]]))


def test_ties_go_to_the_lower_column() -> None:
    x = torch.tensor([[1.0, 2.0, 2.0, 2.0, 0.0]])
    values, idx = top_k_excluding(x, torch.tensor([2]), 2)
    assert idx.tolist() == [[1, 3]] and values.tolist() == [[2.0, 2.0]]


def test_every_other_token_when_k_is_the_vocabulary() -> None:
    logits = torch.randn(4, 6)
    c = top_k_candidates(logits, torch.tensor([0, 5, 2, 2]), 6)
    for row, t in zip(c.ids.tolist(), [0, 5, 2, 2]):
        assert row[0] == t and sorted(row) == list(range(6))
    with pytest.raises(ValueError, match="exceeds"):
        top_k_candidates(logits, torch.tensor([0, 1, 2, 3]), 7)


def test_mix_weights() -> None:
    r = torch.softmax(torch.randn(3, 4), -1)
    alpha = torch.tensor([0.0, 0.25, 0.5])
    w = mix_weights(alpha, r)
    assert torch.allclose(w.sum(-1), torch.ones(3))
    assert torch.equal(w[0], torch.tensor([1.0, 0.0, 0.0, 0.0]))
    assert torch.allclose(w[2], 0.5 * torch.tensor([1.0, 0.0, 0.0, 0.0]) + 0.5 * r[2])
    assert torch.allclose(mix_weights(0.25, r), mix_weights(torch.full((3,), 0.25), r))
