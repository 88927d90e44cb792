"""The network, its training system, schedules and galleries, tested directly."""

import functools

import numpy as np
import pytest
import torch

from plate_ocr.errors import UserError
from plate_ocr.gallery import CAPTION_HEIGHT, annotated_grid
from plate_ocr.model import CRNN, PlateRecognizer
from plate_ocr.model.schedules import one_cycle


@pytest.mark.parametrize(("size", "channels"), [((32, 128), 1), ((64, 200), 3)])
def test_crnn_gives_a_column_per_four_pixels_and_log_probs(size, channels):
    net = CRNN(image_size=size, in_channels=channels, channels=(8, 8, 8, 8), hidden=16)
    images = torch.rand(2, channels, *size)
    logits = net(images)
    assert logits.shape == (2, size[1] // 4, 11)  # blank + ten digits
    probabilities = net.log_probs(images).exp().sum(-1)
    torch.testing.assert_close(probabilities, torch.ones(2, size[1] // 4))
    assert tuple(net.config["image_size"]) == size and net.config["in_channels"] == channels


def test_the_conv_head_sees_a_whole_plate_of_columns():
    """With 4 layers a column's reading depends on columns 15 away (dilations 1, 2, 4, 8):
    an 11-digit plate spans about 22 columns, so the middle one sees both ends."""
    torch.manual_seed(0)
    net = CRNN(
        image_size=(32, 128), channels=(4, 4, 4, 4), hidden=8, sequence="conv", sequence_layers=4
    ).eval()
    head = net.sequence
    columns = torch.randn(1, 32, 8, requires_grad=True)
    head(columns)[0, 16].sum().backward()
    reached = (columns.grad[0].abs().sum(-1) > 0).nonzero().flatten()
    assert reached.min() == 1 and reached.max() == 31


def test_subcolumns_read_each_column_as_several_ctc_steps_and_start_from_one_step_weights(
    tmp_path,
):
    """A network read one step per column (the shipped reader's kind) starts a split one
    reading exactly as it did: each column's steps repeat its reading, which CTC merges."""
    from plate_ocr.model.checkpoint import init_weights

    torch.manual_seed(0)
    kwargs = dict(image_size=(32, 96), channels=(8, 8, 8, 8), hidden=16, sequence="conv")
    one = CRNN(**kwargs).eval()
    path = tmp_path / "one.ckpt"
    torch.save(
        {
            "net_config": one.config,
            "state_dict": {f"net.{k}": v for k, v in one.state_dict().items()},
        },
        path,
    )
    split = CRNN(**kwargs, subcolumns=2)
    images = torch.rand(3, 1, 32, 96)
    assert split(images).shape == (3, 2 * 96 // 4, 11)
    init_weights(split, path)
    torch.testing.assert_close(
        split.eval().log_probs(images), one.log_probs(images).repeat_interleave(2, dim=1)
    )
    with pytest.raises(UserError, match="subcolumns=0"):
        CRNN(subcolumns=0)


def test_unknown_sequence_heads_are_refused():
    with pytest.raises(UserError, match="model.net.sequence=transformer"):
        CRNN(sequence="transformer")
    with pytest.raises(UserError, match="sequence_layers=0"):
        CRNN(sequence_layers=0)


def test_conv_stack_runs_channels_last_after_loading_and_reads_as_a_contiguous_one():
    """Channels-last is the speed (benchmarks/train_speed.py); loading weights must keep it,
    and the layout must not change a single reading."""
    net = CRNN(image_size=(32, 96), channels=(8, 8, 8, 8), hidden=16).eval()
    fresh = CRNN(image_size=(32, 96), channels=(8, 8, 8, 8), hidden=16).eval()
    fresh.load_state_dict(net.state_dict())
    convs = [m for m in fresh.features.modules() if isinstance(m, torch.nn.Conv2d)]
    assert all(c.weight.is_contiguous(memory_format=torch.channels_last) for c in convs)
    images = torch.rand(3, 1, 32, 96)
    contiguous = CRNN(image_size=(32, 96), channels=(8, 8, 8, 8), hidden=16).eval()
    contiguous.load_state_dict(net.state_dict())
    contiguous.features.to(memory_format=torch.contiguous_format)
    with torch.no_grad():
        expected = contiguous.features((images - 0.5) / 0.5)
        assert torch.allclose(fresh.features((images - 0.5) / 0.5), expected, atol=1e-5)
        assert torch.allclose(fresh(images), net(images))


@pytest.mark.parametrize("size", [(30, 128), (32, 126), (8, 128)])
def test_crnn_refuses_sizes_its_pooling_cannot_take(size):
    with pytest.raises(UserError, match="image_size"):
        CRNN(image_size=size)


@pytest.mark.parametrize("sequence", ["bilstm", "bigru", "conv"])
def test_recognizer_learns_a_fixed_batch(sequence):
    """A few optimiser steps on one batch lower the CTC loss, whatever the sequence head:
    gradients reach every layer."""
    torch.manual_seed(0)
    net = CRNN(image_size=(32, 96), channels=(8, 8, 8, 8), hidden=16, sequence=sequence)
    assert net(torch.rand(2, 1, 32, 96)).shape == (2, 24, 11)
    model = PlateRecognizer(net=net, optimizer=functools.partial(torch.optim.AdamW, lr=3e-3))
    images, labels = torch.rand(4, 1, 32, 96), ["0730011107", "12345611616"] * 2
    optimizer = model.optimizer_factory(params=model.parameters())
    losses = []
    for _ in range(30):
        loss = model.ctc_loss(model(images), labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < 0.7 * losses[0], losses
    assert all(p.grad is not None for p in model.parameters() if p.requires_grad)


@pytest.mark.parametrize("sequence", ["bilstm", "conv"])
def test_bf16_mixed_keeps_the_logits_in_float32(sequence):
    """trainer.precision=bf16-mixed runs the network under CPU autocast; CTC must still get
    float32 logits, not bfloat16 ones rounded to three significant digits."""
    net = CRNN(image_size=(32, 96), channels=(8, 8, 8, 8), hidden=16, sequence=sequence).eval()
    images = torch.rand(2, 1, 32, 96)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        logits = net(images)
    assert logits.dtype == net.log_probs(images).dtype == torch.float32
    assert torch.allclose(logits, net(images), atol=0.02)  # the same network, rounded inside


def _optimizer(lr=0.01):
    return torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=lr)


def _rates(schedule: dict, steps: int) -> list[float]:
    optimizer = schedule["scheduler"].optimizer
    rates = []
    for _ in range(steps):
        rates.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        schedule["scheduler"].step()
    return rates


def test_one_cycle_warms_up_to_the_set_rate_then_anneals():
    schedule = one_cycle(_optimizer(0.01), total_steps=100, pct_start=0.2)
    rates = _rates(schedule, 100)
    assert schedule["interval"] == "step"
    assert max(rates) == pytest.approx(0.01, rel=1e-3) and np.argmax(rates) in (19, 20)
    assert rates[0] < 0.001 and rates[-1] < 1e-4


def test_gallery_marks_errors_red_and_right_readings_green():
    images = np.full((2, 16, 48, 1), 128, np.uint8)
    grid = annotated_grid(images, ["12345", "12345"], ["12345", "12845"], columns=2)
    assert grid.shape == (16 * 256 // 48 + CAPTION_HEIGHT, 2 * 256, 3)
    captions = grid[-CAPTION_HEIGHT:]
    captions = captions.astype(int)
    left, right = captions[:, :256].reshape(-1, 3), captions[:, 256:].reshape(-1, 3)
    assert (left[:, 1] > left[:, 0] + 60).any() and not (left[:, 0] > left[:, 1] + 60).any()
    assert (right[:, 0] > right[:, 1] + 60).any()


def test_a_contact_sheet_carries_a_legend_and_each_tile_its_rank():
    from plate_ocr.gallery import titled

    images = np.full((2, 16, 48, 1), 128, np.uint8)
    plain = annotated_grid(images, ["12345", "12345"], ["12345", "12845"], columns=2)
    ranked = annotated_grid(
        images, ["12345", "12345"], ["12345", "12845"], columns=2, prefixes=["#1 9.0", "#2 3.0"]
    )
    assert ranked.shape == plain.shape and (ranked != plain).any()  # the rank is written
    sheet = titled(ranked, "rank, score, label>reading")
    assert sheet.shape == (plain.shape[0] + CAPTION_HEIGHT, plain.shape[1], 3)
    assert (sheet[:CAPTION_HEIGHT] < 128).any()  # the legend's ink
