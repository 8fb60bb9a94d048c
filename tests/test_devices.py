"""Device selection with overrides, and the autocast policy."""
import pytest
import torch

from trm_core import devices
from trm_core.devices import autocast_dtype, high_precision_dtype, pick_device
from trm_core.errors import UserError


def test_cpu_when_nothing_else(monkeypatch):
    monkeypatch.delenv("TRM_DEVICE", raising=False)
    monkeypatch.setattr(devices, "_available", lambda kind: kind == "cpu")
    assert pick_device() == torch.device("cpu")


def test_order_cuda_then_mps(monkeypatch):
    monkeypatch.delenv("TRM_DEVICE", raising=False)
    monkeypatch.setattr(devices, "_available", lambda kind: True)
    assert pick_device().type == "cuda"
    monkeypatch.setattr(devices, "_available", lambda kind: kind in ("mps", "cpu"))
    assert pick_device().type == "mps"


def test_environment_and_argument_override(monkeypatch):
    monkeypatch.setattr(devices, "_available", lambda kind: True)
    monkeypatch.setenv("TRM_DEVICE", "cpu")
    assert pick_device() == torch.device("cpu")
    assert pick_device("mps").type == "mps"  # the argument wins over the environment
    monkeypatch.setenv("TRM_DEVICE", "auto")
    assert pick_device().type == "cuda"


def test_bad_requests_are_errors(monkeypatch):
    monkeypatch.setattr(devices, "_available", lambda kind: kind == "cpu")
    with pytest.raises(ValueError, match="unknown device"):
        pick_device("tpu")
    with pytest.raises(UserError, match="not available"):
        pick_device("cuda")
    monkeypatch.setenv("TRM_DEVICE", "mps")
    with pytest.raises(UserError, match="not available"):
        pick_device()


def test_precision_policy():
    assert autocast_dtype("cuda") == torch.bfloat16
    assert autocast_dtype("cpu") is None and autocast_dtype("mps") is None
    assert high_precision_dtype("mps") == torch.float32  # MPS has no float64
    assert high_precision_dtype("cpu") == torch.float64


def test_seeding_is_reproducible():
    devices.seed_everything(7)
    a = torch.rand(3)
    devices.seed_everything(7)
    assert torch.equal(a, torch.rand(3))
