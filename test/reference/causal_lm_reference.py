"""Independent PyTorch reference for tokenlab's model tests.

Reads a Hugging Face checkpoint directory with its own minimal safetensors reader, implements the
architectures directly from the transformers formulas (float64), and prints JSON:
  stdin:  a list of requests {"dir": str, "ids": [[int]], "mask": [[0|1]] | null, "targets": [[int]] | null}
  stdout: a list of results {"logits": [float] (flat [B, T, V]), "loss": float | null, "grads": {name: [float]} | null}
With targets (-100 = ignored), it also returns the mean cross-entropy and its gradient for every
tensor of the checkpoint, in checkpoint layout. Run with /usr/bin/python3 (Debian python3-torch).
"""
import json
import math
import struct
import sys

import numpy as np
import torch
import torch.nn.functional as F


def read_safetensors(path):
    with open(path, "rb") as f:
        raw = f.read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8 : 8 + n])
    data = raw[8 + n :]
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        begin, end = info["data_offsets"]
        chunk = data[begin:end]
        if info["dtype"] == "F32":
            arr = np.frombuffer(chunk, dtype="<f4")
        elif info["dtype"] == "F16":
            arr = np.frombuffer(chunk, dtype="<f2").astype(np.float32)
        elif info["dtype"] == "BF16":
            arr = (np.frombuffer(chunk, dtype="<u2").astype(np.uint32) << 16).view(np.float32)
        else:
            raise ValueError("dtype " + info["dtype"])
        out[name] = torch.tensor(arr.reshape(info["shape"]).astype(np.float64))
    return out


def causal_padding_bias(T, mask, window=None):
    """transformers' eager mask: 0 where a key is visible, the dtype's minimum where not (never summed),
    so a query with no visible key (a padding position) attends uniformly. A sliding window keeps
    the keys j with i - window < j <= i."""
    allowed = torch.tril(torch.ones(T, T, dtype=torch.bool))
    if window is not None:
        allowed = allowed & ~torch.tril(torch.ones(T, T, dtype=torch.bool), diagonal=-window)
    allowed = allowed[None, None]
    if mask is not None:
        allowed = allowed & (mask[:, None, None, :] > 0)
    zero = torch.zeros((), dtype=torch.float64)
    return torch.where(allowed, zero, torch.full((), torch.finfo(torch.float64).min, dtype=torch.float64))


def attention(q, k, v, bias):
    scores = q @ k.transpose(-1, -2) / math.sqrt(q.shape[-1]) + bias
    return torch.softmax(scores, dim=-1) @ v


def rms_norm(x, w, eps):
    return x / torch.sqrt((x * x).mean(-1, keepdim=True) + eps) * w


def inv_freq(cfg, head_dim, seq_len):
    base = cfg.get("rope_theta", 10000.0)
    scaling = cfg.get("rope_scaling") or {}
    kind = scaling.get("rope_type", scaling.get("type", "default"))
    factor = scaling.get("factor", 1.0)
    if kind == "dynamic" and seq_len > cfg["max_position_embeddings"]:
        base = base * ((factor * seq_len / cfg["max_position_embeddings"]) - (factor - 1)) ** (head_dim / (head_dim - 2))
    inv = 1.0 / base ** (torch.arange(0, head_dim, 2, dtype=torch.float64) / head_dim)
    if kind == "linear":
        inv = inv / factor
    elif kind == "llama3":
        low, high = scaling["low_freq_factor"], scaling["high_freq_factor"]
        old = scaling["original_max_position_embeddings"]
        wavelen = 2 * math.pi / inv
        smooth = (old / wavelen - low) / (high - low)
        mid = (1 - smooth) * inv / factor + smooth * inv
        inv = torch.where(wavelen > old / low, inv / factor, torch.where(wavelen < old / high, inv, mid))
    return inv


def rotate_half(x):
    half = x.shape[-1] // 2
    return torch.cat([-x[..., half:], x[..., :half]], dim=-1)


def layer_window(cfg, arch, layer):
    if arch == "MistralForCausalLM":
        return cfg.get("sliding_window")
    if arch in ("Qwen2ForCausalLM", "Qwen3ForCausalLM"):
        if "layer_types" in cfg:
            sliding = cfg["layer_types"][layer] == "sliding_attention"
        else:
            sliding = cfg.get("use_sliding_window", False) and layer >= cfg.get("max_window_layers", 0)
        return cfg.get("sliding_window") if sliding else None
    return None


def llama_logits(cfg, W, ids, mask, arch):
    B, T = ids.shape
    H, nh = cfg["hidden_size"], cfg["num_attention_heads"]
    nkv = cfg.get("num_key_value_heads") or nh
    hd = cfg.get("head_dim") or H // nh
    eps = cfg.get("rms_norm_eps", 1e-6)
    freqs = torch.arange(T, dtype=torch.float64)[:, None] * inv_freq(cfg, hd, T)[None]
    emb = torch.cat([freqs, freqs], dim=-1)
    cos, sin = emb.cos(), emb.sin()
    h = W["model.embed_tokens.weight"][ids]
    for i in range(cfg["num_hidden_layers"]):
        p = f"model.layers.{i}."
        bias = causal_padding_bias(T, mask, layer_window(cfg, arch, i))
        x = rms_norm(h, W[p + "input_layernorm.weight"], eps)

        def proj(name, n):
            y = x @ W[p + f"self_attn.{name}.weight"].T
            if p + f"self_attn.{name}.bias" in W:
                y = y + W[p + f"self_attn.{name}.bias"]
            return y.view(B, T, n, hd).transpose(1, 2)

        q, k, v = proj("q_proj", nh), proj("k_proj", nkv), proj("v_proj", nkv)
        if arch == "Qwen3ForCausalLM":
            q = rms_norm(q, W[p + "self_attn.q_norm.weight"], eps)
            k = rms_norm(k, W[p + "self_attn.k_norm.weight"], eps)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        k = k.repeat_interleave(nh // nkv, dim=1)
        v = v.repeat_interleave(nh // nkv, dim=1)
        a = attention(q, k, v, bias).transpose(1, 2).reshape(B, T, nh * hd)
        h = h + a @ W[p + "self_attn.o_proj.weight"].T
        if p + "self_attn.o_proj.bias" in W:
            h = h + W[p + "self_attn.o_proj.bias"]
        y = rms_norm(h, W[p + "post_attention_layernorm.weight"], eps)
        gate = y @ W[p + "mlp.gate_proj.weight"].T
        h = h + (F.silu(gate) * (y @ W[p + "mlp.up_proj.weight"].T)) @ W[p + "mlp.down_proj.weight"].T
    h = rms_norm(h, W["model.norm.weight"], eps)
    head = W["model.embed_tokens.weight"] if cfg.get("tie_word_embeddings", False) else W["lm_head.weight"]
    return h @ head.T


def gpt2_logits(cfg, W, ids, mask):
    B, T = ids.shape
    H, nh = cfg["n_embd"], cfg["n_head"]
    hd = H // nh
    eps = cfg.get("layer_norm_epsilon", 1e-5)
    bias = causal_padding_bias(T, mask)
    h = W["transformer.wte.weight"][ids] + W["transformer.wpe.weight"][torch.arange(T)]
    ln = lambda x, name: F.layer_norm(x, (H,), W[name + ".weight"], W[name + ".bias"], eps)
    for i in range(cfg["n_layer"]):
        p = f"transformer.h.{i}."
        qkv = ln(h, p + "ln_1") @ W[p + "attn.c_attn.weight"] + W[p + "attn.c_attn.bias"]
        q, k, v = (t.view(B, T, nh, hd).transpose(1, 2) for t in qkv.split(H, dim=2))
        a = attention(q, k, v, bias).transpose(1, 2).reshape(B, T, H)
        h = h + a @ W[p + "attn.c_proj.weight"] + W[p + "attn.c_proj.bias"]
        m = ln(h, p + "ln_2") @ W[p + "mlp.c_fc.weight"] + W[p + "mlp.c_fc.bias"]
        m = F.gelu(m, approximate="tanh")
        h = h + m @ W[p + "mlp.c_proj.weight"] + W[p + "mlp.c_proj.bias"]
    h = ln(h, "transformer.ln_f")
    head = W["transformer.wte.weight"] if cfg.get("tie_word_embeddings", True) else W["lm_head.weight"]
    return h @ head.T


def answer(request):
    directory = request["dir"]
    cfg = json.load(open(directory + "/config.json"))
    W = read_safetensors(directory + "/model.safetensors")
    for t in W.values():
        t.requires_grad_(True)
    ids = torch.tensor(request["ids"])
    mask = torch.tensor(request["mask"]) if request.get("mask") is not None else None
    arch = cfg["architectures"][0]
    logits = gpt2_logits(cfg, W, ids, mask) if arch == "GPT2LMHeadModel" else llama_logits(cfg, W, ids, mask, arch)
    result = {"logits": logits.detach().flatten().tolist(), "loss": None, "grads": None}
    if request.get("targets") is not None:
        targets = torch.tensor(request["targets"])
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1), ignore_index=-100)
        loss.backward()
        result["loss"] = loss.item()
        result["grads"] = {n: t.grad.flatten().tolist() for n, t in W.items() if t.grad is not None}
    return result


if __name__ == "__main__":
    json.dump([answer(r) for r in json.load(sys.stdin)], sys.stdout)
