"""SGDR (section 4.3): lr_max at the start of each cycle, near lr_min at its end, optimiser state kept."""

import itertools

import pytest
import torch

from emibench.stage1.schedule import SGDR, sgdr_lr

LR_MAX, LR_MIN = 1e-5, 1e-7


def test_learning_rate_at_cycle_boundaries():
    cycle = 100
    for start in (0, cycle, 2 * cycle, 4 * cycle):
        assert sgdr_lr(start, cycle, LR_MAX, LR_MIN) == pytest.approx(LR_MAX)
        end = sgdr_lr(start + cycle - 1, cycle, LR_MAX, LR_MIN)
        assert LR_MIN <= end < LR_MIN + 0.001 * (LR_MAX - LR_MIN)
        assert sgdr_lr(start + cycle // 2, cycle, LR_MAX, LR_MIN) == pytest.approx(
            (LR_MAX + LR_MIN) / 2
        )
    lrs = [sgdr_lr(s, cycle, LR_MAX, LR_MIN) for s in range(cycle)]
    assert all(a > b for a, b in itertools.pairwise(lrs))


def test_cycle_mult_lengthens_later_cycles():
    assert sgdr_lr(10, 10, 1.0, 0.0, cycle_mult=2) == pytest.approx(1.0)
    assert sgdr_lr(20, 10, 1.0, 0.0, cycle_mult=2) == pytest.approx(
        0.5
    )  # middle of the 20-step cycle
    assert sgdr_lr(30, 10, 1.0, 0.0, cycle_mult=2) == pytest.approx(1.0)


def test_restarts_keep_the_optimiser_state():
    param = torch.nn.Parameter(torch.ones(3))
    optimizer = torch.optim.AdamW([param], lr=1.0)
    schedule = SGDR(optimizer, cycle_steps=4, lr_max=LR_MAX, lr_min=LR_MIN)
    seen = []
    for _ in range(6):
        seen.append(optimizer.param_groups[0]["lr"])
        param.sum().backward()
        optimizer.step()
        optimizer.zero_grad()
        schedule.step()
    assert seen[0] == pytest.approx(LR_MAX) and seen[4] == pytest.approx(LR_MAX)
    assert seen[3] < seen[2] < seen[1] < seen[0]
    assert int(optimizer.state[param]["step"]) == 6  # Adam's moments were not reset at the restart


def test_cycle_ends_are_where_the_next_step_restarts():
    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=LR_MAX)
    schedule = SGDR(optimizer, cycle_steps=3, lr_max=LR_MAX, lr_min=LR_MIN, cycle_mult=2)
    ends = []
    for step in range(1, 22):
        schedule.step()
        if schedule.at_cycle_end:
            ends.append(step)
            assert schedule.lr == pytest.approx(LR_MAX)
    assert ends == [3, 9, 21]
