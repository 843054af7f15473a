"""PyTorch eager side of `npm run bench`: the same Llama checkpoint, batch and loss as tokenlab.

Reads the checkpoint (config.json + model.safetensors, F32) with a minimal reader, builds the model
from plain torch ops in float32, and times forward and one AdamW training step (forward, loss,
backward, optimizer) on request, so the benchmark can interleave them with tokenlab's and both
sides see the same machine load. Line protocol on stdin/stdout, one JSON object per line:
  first line in: {"dir", "ids", "labels", "threads"} → out: {"threads", "torch_version"}
  then "forward" → {"ms"}; "step" → {"ms", "loss"}; end of input ends the process.
"""
import json
import math
import struct
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F


def read_safetensors(path):
    with open(path, "rb") as f:
        raw = f.read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8 : 8 + n])
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        assert info["dtype"] == "F32", "the benchmark checkpoint is float32"
        begin, end = info["data_offsets"]
        arr = np.frombuffer(raw[8 + n + begin : 8 + n + end], dtype="<f4").reshape(info["shape"])
        out[name] = torch.nn.Parameter(torch.tensor(arr.copy()))
    return out


def rms_norm(x, w, eps):
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * w


def rotate_half(x):
    half = x.shape[-1] // 2
    return torch.cat([-x[..., half:], x[..., :half]], dim=-1)


def forward(cfg, W, ids):
    B, T = ids.shape
    H, nh = cfg["hidden_size"], cfg["num_attention_heads"]
    nkv = cfg["num_key_value_heads"]
    hd = cfg.get("head_dim") or H // nh
    eps = cfg["rms_norm_eps"]
    inv = 1.0 / cfg["rope_theta"] ** (torch.arange(0, hd, 2, dtype=torch.float32) / hd)
    freqs = torch.arange(T, dtype=torch.float32)[:, None] * inv[None]
    emb = torch.cat([freqs, freqs], dim=-1)
    cos, sin = emb.cos(), emb.sin()
    causal = torch.full((T, T), float("-inf")).triu(1)
    h = F.embedding(ids, W["model.embed_tokens.weight"])
    for i in range(cfg["num_hidden_layers"]):
        p = f"model.layers.{i}."
        x = rms_norm(h, W[p + "input_layernorm.weight"], eps)
        q = F.linear(x, W[p + "self_attn.q_proj.weight"]).view(B, T, nh, hd).transpose(1, 2)
        k = F.linear(x, W[p + "self_attn.k_proj.weight"]).view(B, T, nkv, hd).transpose(1, 2)
        v = F.linear(x, W[p + "self_attn.v_proj.weight"]).view(B, T, nkv, hd).transpose(1, 2)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        k = k.repeat_interleave(nh // nkv, dim=1)
        v = v.repeat_interleave(nh // nkv, dim=1)
        scores = q @ k.transpose(-1, -2) / math.sqrt(hd) + causal  # eager attention, as transformers' "eager"
        a = (torch.softmax(scores, dim=-1) @ v).transpose(1, 2).reshape(B, T, nh * hd)
        h = h + F.linear(a, W[p + "self_attn.o_proj.weight"])
        y = rms_norm(h, W[p + "post_attention_layernorm.weight"], eps)
        gated = F.silu(F.linear(y, W[p + "mlp.gate_proj.weight"])) * F.linear(y, W[p + "mlp.up_proj.weight"])
        h = h + F.linear(gated, W[p + "mlp.down_proj.weight"])
    h = rms_norm(h, W["model.norm.weight"], eps)
    return F.linear(h, W["model.embed_tokens.weight"] if cfg["tie_word_embeddings"] else W["lm_head.weight"])


def timed(fn):
    start = time.perf_counter()
    result = fn()
    return (time.perf_counter() - start) * 1000, result


def main():
    request = json.loads(sys.stdin.readline())
    torch.set_num_threads(request["threads"])
    cfg = json.load(open(request["dir"] + "/config.json"))
    W = read_safetensors(request["dir"] + "/model.safetensors")
    ids = torch.tensor(request["ids"])
    labels = torch.tensor(request["labels"])
    optimizer = torch.optim.AdamW(W.values(), lr=1e-4, weight_decay=0.01, foreach=False)

    def train_step():
        optimizer.zero_grad(set_to_none=True)
        logits = forward(cfg, W, ids)
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), labels.reshape(-1), ignore_index=-100)
        loss.backward()
        optimizer.step()
        return loss.item()

    def forward_only():
        with torch.no_grad():
            forward(cfg, W, ids)

    print(json.dumps({"threads": torch.get_num_threads(), "torch_version": torch.__version__}), flush=True)
    for line in sys.stdin:
        command = line.strip()
        if command == "forward":
            ms, _ = timed(forward_only)
            print(json.dumps({"ms": ms}), flush=True)
        elif command == "step":
            ms, loss = timed(train_step)
            print(json.dumps({"ms": ms, "loss": loss}), flush=True)


if __name__ == "__main__":
    main()
