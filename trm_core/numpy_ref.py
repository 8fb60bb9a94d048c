"""The TRM and HRM recursion in plain NumPy: a reference to read, and to test the PyTorch model against.

Everything the PyTorch model does at inference is written out here as short functions on float64
arrays, with no autograd, no modules and no devices. Take the weights of a trained (or freshly
initialised) model with :func:`weights_from_torch` and :func:`reason` gives the same answers as
``model.reason`` (``tests/test_numpy_ref.py`` checks it).

The algorithm (TRM paper, arXiv 2510.04871, Figure 3). The puzzle ``inputs`` are embedded once as
``x``; the answer ``y`` and the latent reasoning ``z`` start from two fixed vectors. One network
``net`` (a few post-norm blocks) improves them. One *supervision step* is::

    x = embed(inputs)                              # (B, L_total, D)
    repeat T times:                                # "deep recursion"
        repeat n times:  z = net(z + y + x)        # think: refine the latent from the question
        y = net(y + z)                             # act: rewrite the answer from the latent
    logits = lm_head(y)                            # (B, L, V)  the answer, token by token
    q_halt, q_continue = q_head(y[:, 0])           # (B,)       "am I done?"

``reason`` runs ``steps`` supervision steps, each starting from the (y, z) the previous one left.
In training only the last of the T cycles is back-propagated through; NumPy has no gradients, so
here all T cycles are the same loop.

HRM (arXiv 2506.21734), which TRM simplifies, uses two networks: a low-level ``L_net`` updates
``z`` n times, then a high-level ``H_net`` updates ``y`` once, for T cycles. Same loop, two nets.

Names: the paper's ``y`` is the reference code's ``z_H``, ``z`` is ``z_L``; ``T`` and ``n`` are its
``H_cycles`` and ``L_cycles``.

A block is *post-norm*: ``h = rms(h + mix(h)); h = rms(h + swiglu(h))``. The token mixer ``mix`` is
either multi-head self-attention with rotary position embeddings (TRM-Att) or a SwiGLU applied
across the sequence axis (TRM-MLP).
"""
from __future__ import annotations

import math

import numpy as np

from .config import ModelConfig

# ----------------------------------------------------------------------------------------------
# Weights: a plain dict of float64 arrays, copied out of a torch model
# ----------------------------------------------------------------------------------------------
#
#   weights = {
#       "embed_tokens": (V, D),               token embedding table
#       "puzzle_emb":   (num_ids, ndim),      only with puzzle embeddings
#       "embed_pos":    (L_total, D),         only with pos_encodings="learned"
#       "y_init", "z_init": (D,),             fixed initial states
#       "lm_head":      (V, D),               answer head, no bias
#       "q_head":       (2, D), "q_head_bias": (2,)
#       "net":          [block, ...]          TRM
#       "L_net", "H_net": [block, ...]        HRM
#   }
#   block = {"mlp_gate_up": (2H, D), "mlp_down": (D, H)} plus either
#           {"attn_qkv": (3D, D), "attn_out": (D, D)}                 (attention mixer) or
#           {"token_gate_up": (2H_L, L_total), "token_down": (L_total, H_L)}   (mlp mixer)
#
# Matrices keep PyTorch's nn.Linear layout (out_features, in_features), so a linear layer is
# ``x @ W.T``.


def _array(tensor) -> np.ndarray:
    return tensor.detach().cpu().double().numpy().copy()


def _block_weights(block) -> dict:
    w = {"mlp_gate_up": _array(block.mlp.gate_up.weight), "mlp_down": _array(block.mlp.down.weight)}
    if block.mixer == "attention":
        w["attn_qkv"] = _array(block.attn.qkv.weight)
        w["attn_out"] = _array(block.attn.out.weight)
    else:
        w["token_gate_up"] = _array(block.token_mlp.mlp.gate_up.weight)
        w["token_down"] = _array(block.token_mlp.mlp.down.weight)
    return w


def weights_from_torch(model) -> dict:
    """Copy a TRM or HRM's weights into a dict of float64 NumPy arrays (layout above)."""
    w = {
        "embed_tokens": _array(model.embed_tokens.weight),
        "y_init": _array(model.y_init),
        "z_init": _array(model.z_init),
        "lm_head": _array(model.lm_head.weight),
        "q_head": _array(model.q_head.weight),
        "q_head_bias": _array(model.q_head.bias),
    }
    if model.puzzle_emb is not None:
        w["puzzle_emb"] = _array(model.puzzle_emb.weight)
    if model.embed_pos is not None:
        w["embed_pos"] = _array(model.embed_pos)
    if model.config.arch == "trm":
        w["net"] = [_block_weights(b) for b in model.net.layers]
    else:
        w["L_net"] = [_block_weights(b) for b in model.L_net.layers]
        w["H_net"] = [_block_weights(b) for b in model.H_net.layers]
    return w


# ----------------------------------------------------------------------------------------------
# Building blocks
# ----------------------------------------------------------------------------------------------
def rms_norm(x: np.ndarray, axis: int = -1, eps: float = 1e-5) -> np.ndarray:
    """Divide by the root mean square along ``axis``. No learnable scale."""
    mean_square = np.mean(x * x, axis=axis, keepdims=True)
    return x / np.sqrt(mean_square + eps)


def silu(x: np.ndarray) -> np.ndarray:
    """``x * sigmoid(x)``, also called swish."""
    return x / (1.0 + np.exp(-x))


def swiglu(x: np.ndarray, w_gate_up: np.ndarray, w_down: np.ndarray) -> np.ndarray:
    """``down(silu(gate(x)) * up(x))`` over the last axis. (..., W) -> (..., W).

    ``w_gate_up`` (2H, W) stacks the gate matrix (first H rows) on the up matrix (last H rows).
    """
    hidden = w_gate_up.shape[0] // 2
    gate = x @ w_gate_up[:hidden].T  # (..., H)
    up = x @ w_gate_up[hidden:].T  # (..., H)
    return (silu(gate) * up) @ w_down.T  # (..., W)


def token_mixer_mlp(h: np.ndarray, w_gate_up: np.ndarray, w_down: np.ndarray, eps: float = 1e-5) -> np.ndarray:
    """TRM-MLP's mixer: a SwiGLU across the sequence axis, then residual + RMSNorm over tokens.

    Transposing makes tokens the last axis, so the ordinary SwiGLU mixes them, for every feature.
    """
    ht = h.transpose(0, 2, 1)  # (B, D, L)
    ht = rms_norm(ht + swiglu(ht, w_gate_up, w_down), axis=-1, eps=eps)  # norm over the L axis
    return ht.transpose(0, 2, 1)  # (B, L, D)


def rope_tables(head_dim: int, length: int, theta: float = 10000.0) -> tuple[np.ndarray, np.ndarray]:
    """cos and sin of the rotation angles, (length, head_dim) each.

    Feature pair (i, i + head_dim/2) at position p turns by the angle ``p * theta**(-2i/head_dim)``.
    """
    inv_freq = theta ** (-np.arange(0, head_dim, 2) / head_dim)  # (hd/2,)
    angles = np.outer(np.arange(length), inv_freq)  # (L, hd/2)
    angles = np.concatenate([angles, angles], axis=-1)  # (L, hd)
    return np.cos(angles), np.sin(angles)


def rope(x: np.ndarray, cos: np.ndarray, sin: np.ndarray) -> np.ndarray:
    """Rotate queries or keys (B, heads, L, hd) by their position ("rotate half" layout)."""
    half = x.shape[-1] // 2
    x1, x2 = x[..., :half], x[..., half:]
    rotated = np.concatenate([-x2, x1], axis=-1)  # (B, heads, L, hd)
    return x * cos + rotated * sin


def softmax(s: np.ndarray, axis: int = -1) -> np.ndarray:
    e = np.exp(s - s.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def attention(
    h: np.ndarray, w_qkv: np.ndarray, w_out: np.ndarray, num_heads: int, rope_cos_sin: tuple | None = None
) -> np.ndarray:
    """Non-causal multi-head self-attention, no biases. (B, L, D) -> (B, L, D).

    ``w_qkv`` (3D, D) stacks the query, key and value matrices; every token sees every token.
    """
    B, L, D = h.shape
    hd = D // num_heads
    qkv = (h @ w_qkv.T).reshape(B, L, 3, num_heads, hd)
    q, k, v = qkv.transpose(2, 0, 3, 1, 4)  # (B, heads, L, hd) each
    if rope_cos_sin is not None:
        q, k = rope(q, *rope_cos_sin), rope(k, *rope_cos_sin)
    scores = q @ k.transpose(0, 1, 3, 2) / math.sqrt(hd)  # (B, heads, L, L)
    o = softmax(scores) @ v  # (B, heads, L, hd)
    o = o.transpose(0, 2, 1, 3).reshape(B, L, D)  # heads side by side again
    return o @ w_out.T  # (B, L, D)


def block(h: np.ndarray, w: dict, config: ModelConfig, rope_cos_sin: tuple | None = None) -> np.ndarray:
    """One post-norm block: mix tokens, then a SwiGLU over features. (B, L, D) -> (B, L, D)."""
    eps = config.rms_norm_eps
    if config.mixer == "attention":
        h = rms_norm(h + attention(h, w["attn_qkv"], w["attn_out"], config.num_heads, rope_cos_sin), eps=eps)
    else:
        h = token_mixer_mlp(h, w["token_gate_up"], w["token_down"], eps)  # residual + norm inside
    return rms_norm(h + swiglu(h, w["mlp_gate_up"], w["mlp_down"]), eps=eps)


def net(h: np.ndarray, injection: np.ndarray, blocks: list, config: ModelConfig, rope_cos_sin: tuple | None = None):
    """The recursive network: add the injection, then run the blocks. (B, L, D) -> (B, L, D)."""
    h = h + injection
    for w in blocks:
        h = block(h, w, config, rope_cos_sin)
    return h


def make_net(blocks: list, config: ModelConfig):
    """``net(h, injection)`` with its weights (and RoPE tables) bound, as the paper writes it."""
    cos_sin = None
    if config.pos_encodings == "rope":
        cos_sin = rope_tables(config.hidden_size // config.num_heads, config.total_len, config.rope_theta)
    return lambda h, injection: net(h, injection, blocks, config, cos_sin)


# ----------------------------------------------------------------------------------------------
# Input embedding, initial state and heads
# ----------------------------------------------------------------------------------------------
def embed(weights: dict, config: ModelConfig, inputs: np.ndarray, puzzle_ids: np.ndarray | None = None) -> np.ndarray:
    """Token ids (B, L) -> x (B, L_total, D).

    token embedding; [puzzle vector at position 0 of P extra positions in front];
    [0.707106781 * (x + learned positions)]; all times sqrt(D).
    """
    D = config.hidden_size
    x = weights["embed_tokens"][inputs]  # (B, L, D)
    if "puzzle_emb" in weights:
        B, P = inputs.shape[0], config.num_puzzle_positions
        if puzzle_ids is None:
            puzzle_ids = np.zeros(B, dtype=np.int64)
        vectors = weights["puzzle_emb"][puzzle_ids]  # (B, ndim)
        if vectors.shape[1] > P * D:
            raise ValueError(f"puzzle_emb_ndim {vectors.shape[1]} does not fit in {P} positions of width {D}")
        front = np.zeros((B, P * D))
        front[:, : vectors.shape[1]] = vectors  # fill position 0 first; the rest stay zero
        x = np.concatenate([front.reshape(B, P, D), x], axis=1)  # (B, L_total, D)
    if "embed_pos" in weights:
        x = 0.707106781 * (x + weights["embed_pos"])  # 1/sqrt(2) keeps the variance
    return math.sqrt(D) * x


def initial_state(weights: dict, config: ModelConfig, batch_size: int) -> tuple[np.ndarray, np.ndarray]:
    """(y, z): the fixed vectors y_init, z_init copied to every position. (B, L_total, D) each."""
    shape = (batch_size, config.total_len, config.hidden_size)
    return np.broadcast_to(weights["y_init"], shape).copy(), np.broadcast_to(weights["z_init"], shape).copy()


def heads(weights: dict, config: ModelConfig, y: np.ndarray):
    """Answer logits (B, L, V) from the token positions; q_halt, q_continue (B,) from position 0."""
    logits = y[:, config.num_puzzle_positions:] @ weights["lm_head"].T  # (B, L, V)
    q = y[:, 0] @ weights["q_head"].T + weights["q_head_bias"]  # (B, 2)
    return logits, q[:, 0], q[:, 1]


# ----------------------------------------------------------------------------------------------
# The recursions
# ----------------------------------------------------------------------------------------------
def latent_recursion(net, x, y, z, n: int):
    """TRM: n updates of z from (x, y, z), then one update of y from (y, z). All (B, L_total, D)."""
    for _ in range(n):
        z = net(z, y + x)  # z = net(z + y + x): think
    y = net(y, z)  # y = net(y + z): answer
    return y, z


def deep_recursion(net, x, y, z, n: int, T: int):
    """TRM: one supervision step, T cycles of latent_recursion.

    In PyTorch the first T-1 cycles run under ``torch.no_grad()`` and only the last one is
    back-propagated through; the values are the same, so here it is one plain loop.
    """
    for _ in range(T):
        y, z = latent_recursion(net, x, y, z, n)
    return y, z


def hrm_recursion(L_net, H_net, x, y, z, n: int, T: int):
    """HRM: one supervision step, T cycles of (n low-level updates of z, one high-level update of y).

    ``y`` is HRM's z_H, ``z`` its z_L. In PyTorch only the very last L and H updates get
    gradients (the "1-step gradient"); here there are none.
    """
    for _ in range(T):
        for _ in range(n):
            z = L_net(z, y + x)  # z_L = L(z_L + z_H + x)
        y = H_net(y, z)  # z_H = H(z_H + z_L)
    return y, z


# ----------------------------------------------------------------------------------------------
# Inference: several supervision steps, as model.reason
# ----------------------------------------------------------------------------------------------
def reason(weights: dict, config: ModelConfig, inputs, puzzle_ids=None, steps: int | None = None) -> dict:
    """Run ``steps`` supervision steps (default ``config.N_sup``) from the initial state.

    Returns a dict of float64 arrays: ``logits`` (steps, B, L, V), ``q_halt`` and ``q_continue``
    (steps, B), and the states ``y`` and ``z`` (steps, B, L_total, D) after every step.
    """
    inputs = np.asarray(inputs)
    if inputs.ndim != 2 or inputs.shape[1] != config.seq_len:
        raise ValueError(f"inputs must have shape (batch, {config.seq_len}), got {inputs.shape}")
    steps = config.N_sup if steps is None else int(steps)
    if steps < 1:
        raise ValueError(f"steps must be at least 1, got {steps}")
    puzzle_ids = None if puzzle_ids is None else np.asarray(puzzle_ids)

    if config.arch == "trm":
        f = make_net(weights["net"], config)

        def update(x, y, z):
            return deep_recursion(f, x, y, z, config.n, config.T)
    else:
        L_net, H_net = make_net(weights["L_net"], config), make_net(weights["H_net"], config)

        def update(x, y, z):
            return hrm_recursion(L_net, H_net, x, y, z, config.n, config.T)

    x = embed(weights, config, inputs, puzzle_ids)  # (B, L_total, D), the same for every step
    y, z = initial_state(weights, config, inputs.shape[0])
    trace = {key: [] for key in ("logits", "q_halt", "q_continue", "y", "z")}
    for _ in range(steps):
        y, z = update(x, y, z)  # carry (y, z) into the next supervision step
        logits, q_halt, q_continue = heads(weights, config, y)
        for key, value in zip(trace, (logits, q_halt, q_continue, y, z)):
            trace[key].append(value)
    return {key: np.stack(values) for key, values in trace.items()}
