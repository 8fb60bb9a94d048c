"""Load checkpoints saved by the reference TinyRecursiveModels code into trm_core models.

>>> model = from_reference(torch.load("step_12345"), arch_config)   # doctest: +SKIP
>>> trace = model.reason(inputs)                                     # doctest: +SKIP

``state_dict`` is what the reference's ``pretrain.py`` saves: the ACT model inside its loss head,
usually compiled, so keys look like ``_orig_mod.model.inner.L_level.layers.0.mlp.gate_up_proj.weight``.
``arch_config`` is the dict the reference model class receives (``hidden_size``, ``H_cycles``, ...).
"""
from __future__ import annotations

import re

import torch

from .config import ModelConfig
from .errors import UserError
from .models import build_model
from .recursive import RecursiveReasoner

# Fields of the reference configs that do not change the computation.
_IGNORED = {"batch_size", "forward_dtype", "name", "loss", "halt_exploration_prob_schedule"}
# Reference field -> (ModelConfig field, converter). Absent fields keep the reference's default.
_FIELDS = {
    "seq_len": ("seq_len", int),
    "vocab_size": ("vocab_size", int),
    "num_puzzle_identifiers": ("num_puzzle_identifiers", int),
    "puzzle_emb_ndim": ("puzzle_emb_ndim", int),
    "puzzle_emb_len": ("puzzle_emb_len", int),
    "hidden_size": ("hidden_size", int),
    "num_heads": ("num_heads", int),
    "expansion": ("expansion", float),
    "pos_encodings": ("pos_encodings", str),
    "H_cycles": ("T", int),
    "L_cycles": ("n", int),
    "L_layers": ("layers", int),
    "H_layers": ("h_layers", int),
    "halt_max_steps": ("N_sup", int),
    "halt_exploration_prob": ("halt_exploration_prob", float),
    "rms_norm_eps": ("rms_norm_eps", float),
    "rope_theta": ("rope_theta", float),
    "mlp_t": ("mixer", lambda v: "mlp" if v else "attention"),
    "causal": ("causal", lambda v: str(v).lower() in ("true", "1")),  # attention mask (False when published)
    "no_ACT_continue": ("act_continue", lambda v: not v),
}
_REQUIRED = ("seq_len", "vocab_size", "num_puzzle_identifiers", "hidden_size", "num_heads", "expansion",
             "pos_encodings", "H_cycles", "L_cycles", "L_layers", "halt_max_steps")


class ReferenceCheckpointError(UserError):
    """The state dict or config does not describe a reference TRM/HRM we can load."""


def strip_prefixes(state_dict: dict) -> dict:
    """Drop the ``_orig_mod.`` (torch.compile), ``model.`` (loss head) and ``module.`` (DDP) prefixes."""
    out = {}
    for key, value in state_dict.items():
        while True:
            new = re.sub(r"^(_orig_mod\.|model\.|module\.)", "", key)
            if new == key:
                break
            key = new
        out[key] = value
    return out


def detect_arch(state_dict: dict, arch_config: dict | None = None) -> str:
    """'hrm' when the checkpoint has separate H and L levels (or the config's name says so), else 'trm'."""
    name = str((arch_config or {}).get("name", "")).lower()
    if "hierarchical" in name or re.search(r"\bhrm\b|hrm@|\.hrm", name):
        return "hrm"
    if "tinyrecursive" in name or re.search(r"\btrm\b|trm@|\.trm", name):
        return "trm"
    keys = strip_prefixes(state_dict)
    return "hrm" if any(k.startswith("inner.H_level.") for k in keys) else "trm"


def config_from_reference(arch_config: dict, arch: str) -> ModelConfig:
    """Translate the reference's arch config dict into a :class:`ModelConfig`."""
    missing = [k for k in _REQUIRED if k not in arch_config]
    if missing:
        raise ReferenceCheckpointError(f"reference arch config lacks required field(s): {', '.join(missing)}")
    unknown = sorted(set(arch_config) - set(_FIELDS) - _IGNORED)
    if unknown:
        raise ReferenceCheckpointError(
            f"reference arch config has field(s) trm_core does not know: {', '.join(unknown)} "
            "(they may change the computation, so nothing was loaded)"
        )
    fields = {"arch": arch}
    for ref_name, (ours, convert) in _FIELDS.items():
        if ref_name in arch_config:
            fields[ours] = convert(arch_config[ref_name])
    if arch == "hrm":
        fields["puzzle_emb_len"] = 0  # HRM reserves ceil(puzzle_emb_ndim / hidden_size) positions
        fields["act_continue"] = True  # HRM always trains its continue head
        fields.setdefault("h_layers", fields["layers"])
    else:
        fields.setdefault("puzzle_emb_len", 16)
        fields.pop("h_layers", None)  # the reference TRM ignores H_layers
        fields.setdefault("act_continue", False)  # no_ACT_continue defaults to True
    try:
        return ModelConfig(**fields)
    except ValueError as e:
        raise ReferenceCheckpointError(str(e)) from None


def _rename(key: str) -> str:
    """Reference key (prefixes stripped) -> trm_core key."""
    rules = [
        (r"^inner\.", ""),
        (r"^embed_tokens\.embedding_weight$", "embed_tokens.weight"),
        (r"^embed_pos\.embedding_weight$", "embed_pos"),
        (r"^puzzle_emb\.weights$", "puzzle_emb.weight"),
        (r"^H_init$", "y_init"),
        (r"^L_init$", "z_init"),
        (r"^H_level\.", "H_net."),
        (r"^L_level\.", "L_net."),
        (r"\.self_attn\.qkv_proj\.", ".attn.qkv."),
        (r"\.self_attn\.o_proj\.", ".attn.out."),
        (r"\.mlp_t\.gate_up_proj\.", ".token_mlp.mlp.gate_up."),
        (r"\.mlp_t\.down_proj\.", ".token_mlp.mlp.down."),
        (r"\.mlp\.gate_up_proj\.", ".mlp.gate_up."),
        (r"\.mlp\.down_proj\.", ".mlp.down."),
    ]
    for pattern, repl in rules:
        key = re.sub(pattern, repl, key)
    return key


def convert_state_dict(state_dict: dict, arch: str) -> dict:
    """The reference state dict with trm_core's key names (TRM's single net is ``net``)."""
    out = {}
    for key, value in strip_prefixes(state_dict).items():
        new = _rename(key)
        if arch == "trm":
            new = re.sub(r"^L_net\.", "net.", new)
        out[new] = value
    return out


def from_reference(state_dict: dict, arch_config: dict, device: str | torch.device = "cpu") -> RecursiveReasoner:
    """Build the trm_core model matching a reference checkpoint and load its weights (float32)."""
    if not isinstance(state_dict, dict) or not state_dict:
        raise ReferenceCheckpointError("state_dict must be a non-empty dict of tensors")
    not_tensors = sorted(str(k) for k, v in state_dict.items() if not isinstance(v, torch.Tensor))
    if not_tensors:
        raise ReferenceCheckpointError(
            f"state_dict values must be tensors; these are not: {', '.join(not_tensors[:5])}"
        )
    if not isinstance(arch_config, dict):
        raise ReferenceCheckpointError(
            f"arch_config must be the dict the reference model class received (hidden_size, H_cycles, ...), "
            f"got {type(arch_config).__name__}")
    arch = detect_arch(state_dict, arch_config)
    model = build_model(config_from_reference(dict(arch_config), arch))
    ours = model.state_dict()
    theirs = convert_state_dict(state_dict, arch)
    missing = sorted(set(ours) - set(theirs))
    unexpected = sorted(set(theirs) - set(ours))
    mismatched = [
        f"{k}: checkpoint {tuple(theirs[k].shape)} vs model {tuple(ours[k].shape)}"
        for k in sorted(set(ours) & set(theirs))
        if tuple(theirs[k].shape) != tuple(ours[k].shape)
    ]
    if missing or unexpected or mismatched:
        parts = []
        if missing:
            parts.append(f"missing keys: {', '.join(missing)}")
        if unexpected:
            parts.append(f"unexpected keys: {', '.join(unexpected)}")
        if mismatched:
            parts.append(f"shape mismatches: {'; '.join(mismatched)}")
        raise ReferenceCheckpointError(
            f"reference checkpoint does not match a {arch.upper()} with this arch config ({' | '.join(parts)})"
        )
    model.load_state_dict({k: v.detach().to(torch.float32) for k, v in theirs.items()})
    return model.to(device).eval()
