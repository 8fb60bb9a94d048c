"""The CUDA path: bf16 autocast training, torch.compile, inference and checkpoints on a GPU.

Skipped without a CUDA GPU (``benchmarks/gpu_check.sh`` runs them where one is present).
"""
import pytest
import torch

from conftest import random_batch, tiny
from trm_core import checkpoint as ckpt_io
from trm_core import recipes
from trm_core.data import make_task
from trm_core.devices import autocast_dtype
from trm_core.trainer import TrainConfig, Trainer

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")


def one_step(model, batch, device, **cfg):
    torch.manual_seed(0)
    trainer = Trainer(model, None, TrainConfig(batch_size=len(batch["inputs"]), optimizer="adamw", lr=1e-3,
                                               lr_warmup_steps=1, progress=False, ema=False, **cfg), device=device)
    return trainer, trainer.train_step(batch)


@pytest.mark.parametrize("arch", ["trm", "hrm"])
def test_a_bf16_training_step_on_cuda_follows_float32_on_cpu(arch):
    assert autocast_dtype("cuda") == torch.bfloat16
    torch.manual_seed(0)
    cpu_model = tiny(arch)
    gpu_model = tiny(arch)
    gpu_model.load_state_dict(cpu_model.state_dict())
    batch = random_batch(0, B=32)
    _, cpu = one_step(cpu_model, batch, "cpu")
    trainer, gpu = one_step(gpu_model, batch, "cuda")
    assert next(trainer.model.parameters()).is_cuda
    assert gpu["lm_loss"] == pytest.approx(cpu["lm_loss"], rel=2e-2)  # bf16 products: about 3 significant digits
    for (name, a), b in zip(cpu_model.named_parameters(), gpu_model.parameters()):
        assert torch.isfinite(b).all(), name
        torch.testing.assert_close(b.float().cpu(), a, rtol=0, atol=5e-3, msg=name)  # one Adam step of lr 1e-3


def test_compiled_training_runs_and_learns():
    task = make_task("sudoku", size=4, n_train=256, n_test=64)
    trainer = recipes.trainer_for(task, "trm-mlp-tiny", device="cuda", max_steps=200, compile=True,
                                  progress=False, checkpoint_minutes=0)
    first = trainer.train_step(trainer.source.next_batch())["lm_loss"]
    metrics = trainer.fit()
    assert trainer.train_step(trainer.source.next_batch())["lm_loss"] < first
    assert metrics["cell_accuracy"] > 0.5


def test_activation_checkpointing_matches_on_cuda():
    torch.manual_seed(0)
    a, b = tiny(n=4).cuda(), tiny(n=4).cuda()
    b.load_state_dict(a.state_dict())
    batch = {k: v.cuda() for k, v in random_batch(3, B=16).items()}
    _, plain = one_step(a, batch, "cuda")
    _, ckpt = one_step(b, batch, "cuda", activation_checkpointing=True)
    assert ckpt["lm_loss"] == pytest.approx(plain["lm_loss"], rel=1e-3)


def test_reason_and_solve_on_cuda_agree_with_cpu():
    torch.manual_seed(0)
    model = tiny().eval()
    x = random_batch(1, B=8)["inputs"]
    cpu = model.reason(x, autocast=False)
    gpu = model.cuda().reason(x.cuda(), autocast=False)
    torch.testing.assert_close(gpu.logits.cpu(), cpu.logits, rtol=1e-4, atol=1e-4)
    assert model.solve(x.cuda()).answers.shape == x.shape


def test_a_checkpoint_written_on_cuda_loads_on_cpu(tmp_path):
    task = make_task("sudoku", size=4, n_train=64, n_test=16)
    trainer = recipes.trainer_for(task, "trm-mlp-tiny", device="cuda", max_steps=3, progress=False,
                                  out_dir=tmp_path, checkpoint_minutes=0)
    trainer.fit()
    model = ckpt_io.model_from_checkpoint(tmp_path / "checkpoint.pt", device="cpu")
    assert next(model.parameters()).device.type == "cpu"
    resumed = recipes.trainer_for(task, "trm-mlp-tiny", device="cuda", max_steps=5, progress=False,
                                  out_dir=tmp_path, checkpoint_minutes=0)
    resumed.load_state_dict(ckpt_io.load(tmp_path / "checkpoint.pt", map_location="cuda"))
    resumed.fit()
    assert resumed.step == 5


def test_peak_memory_is_reported():
    model = tiny()
    batch = {k: v.cuda() for k, v in random_batch(0, B=16).items()}
    from trm_core.trainer import throughput

    out = throughput(model, batch, TrainConfig(batch_size=16, optimizer="adamw", ema=False), device="cuda")
    assert out["peak_memory_mb"] > 0
