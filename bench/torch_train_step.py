"""PyTorch eager side of `npm run bench` (and `-- --scale`): the same checkpoint, tokens and loss as tokenlab.

Reads the checkpoint (config.json + model.safetensors or the shards of model.safetensors.index.json;
F32, F16 or BF16) with a minimal reader, computes in float32 with plain torch ops (Llama, Mistral,
Qwen2 biases, Qwen3 q/k norms), and times on request: a forward pass, a full training step (every
weight, AdamW) or a new-rows step (only the rows of the new tokens train, through a [k, d] delta as
PEFT's TrainableTokens does). Line protocol on stdin/stdout, one JSON object per line:
  first line in: {"dir", "ids", "labels", "threads", "new_ids"?}
    → out: {"threads", "torch_version", "load_ms", "blas", "peak_rss_mb"}
  then "forward" → {"ms"}; "step" / "new-rows-step" → {"ms", "loss"} (each with "peak_rss_mb");
  end of input ends the process.
"blas" says which BLAS library the process really loaded (from /proc/self/maps, so Debian's
alternatives are resolved) and its measured float32 matmul speed at this thread setting.
"""
import json
import math
import os
import re
import resource
import struct
import sys
import time

import torch
import torch.nn.functional as F

TORCH_DTYPES = {"F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16}


def read_safetensors(path):
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(n))
        raw = bytearray(f.read())
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        begin, end = info["data_offsets"]
        dtype = TORCH_DTYPES[info["dtype"]]
        count = (end - begin) // torch.empty(0, dtype=dtype).element_size()
        stored = torch.frombuffer(raw, dtype=dtype, offset=begin, count=count) if count else torch.empty(0, dtype=dtype)
        out[name] = stored.reshape(info["shape"]).to(torch.float32, copy=True)
    return out


def read_weights(directory):
    single = os.path.join(directory, "model.safetensors")
    if os.path.exists(single):
        return read_safetensors(single)
    weight_map = json.load(open(os.path.join(directory, "model.safetensors.index.json")))["weight_map"]
    weights = {}
    for shard in sorted(set(weight_map.values())):
        weights.update(read_safetensors(os.path.join(directory, shard)))
    return weights


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

        def proj(name, heads):
            out = F.linear(x, W[p + f"self_attn.{name}.weight"], W.get(p + f"self_attn.{name}.bias")).view(B, T, heads, hd)
            norm = W.get(p + f"self_attn.{name[0]}_norm.weight")  # Qwen3: RMSNorm over head_dim before RoPE
            return (rms_norm(out, norm, eps) if norm is not None else out).transpose(1, 2)  # [B, heads, T, hd]

        q, k, v = proj("q_proj", nh), proj("k_proj", nkv), proj("v_proj", nkv)
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


def blas_report():
    """The BLAS library this process loaded and its float32 matmul speed at the current thread count."""
    n = 1024
    a, b = torch.randn(n, n), torch.randn(n, n)
    a @ b  # loads the library and warms up its threads
    best = min(timed(lambda: a @ b)[0] for _ in range(3))
    with open("/proc/self/maps") as maps:
        paths = {line.split()[-1] for line in maps if "/" in line}
    libraries = sorted(p for p in paths if re.search(r"blas|lapack|mkl", os.path.basename(p), re.I) or "openblas" in p)
    build = re.search(r"BLAS_INFO=(\w+)", torch.__config__.show())
    kind = blas_kind(libraries, build.group(1) if build else None)
    return {
        "kind": kind,
        "libraries": libraries,
        "build_blas_info": build.group(1) if build else None,
        "matmul_gflops": round(2 * n**3 / (best / 1000) / 1e9, 1),
    }


def blas_kind(libraries, build_blas_info):
    """'openblas', 'mkl', 'reference' (Debian's netlib libblas3: unoptimized loops) or the build's BLAS_INFO."""
    if any("openblas" in p for p in libraries):
        return "openblas"
    if any("mkl" in p for p in libraries):
        return "mkl"
    if any(re.search(r"/blas/libblas\.so", p) for p in libraries):
        return "reference"
    return build_blas_info or "unknown"  # e.g. MKL linked statically into pip wheels


def timed(fn):
    start = time.perf_counter()
    result = fn()
    return (time.perf_counter() - start) * 1000, result


def peak_rss_mb():
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)  # ru_maxrss is in KiB on Linux


def loss_of(cfg, W, ids, labels):
    logits = forward(cfg, W, ids)
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), labels.reshape(-1), ignore_index=-100)


def full_step(cfg, W, ids, labels):
    """Every weight trains (AdamW); the optimizer is built on the first call so forward-only runs never hold its state."""
    state = full_step.__dict__
    if "optimizer" not in state:
        for w in W.values():
            w.requires_grad_(True)
        state["optimizer"] = torch.optim.AdamW(W.values(), lr=1e-4, weight_decay=0.01, foreach=False)
    optimizer = state["optimizer"]
    optimizer.zero_grad(set_to_none=True)
    loss = loss_of(cfg, W, ids, labels)
    loss.backward()
    optimizer.step()
    return loss.item()


def new_rows_trainer(cfg, W, new_ids):
    """A step that trains only the rows `new_ids` of the embedding (and of an untied head) through [k, d] deltas."""
    names = ["model.embed_tokens.weight"] + ([] if cfg["tie_word_embeddings"] else ["lm_head.weight"])
    index = torch.tensor(new_ids)
    for name in names:
        rows = W[name].shape[0]
        if max(new_ids) >= rows:  # grow as resize_token_embeddings does (mean of the old rows)
            extra = W[name].mean(0, keepdim=True).expand(max(new_ids) + 1 - rows, -1)
            W[name] = torch.cat([W[name], extra])
    deltas = {name: W[name][index].clone().requires_grad_(True) for name in names}
    optimizer = torch.optim.AdamW(deltas.values(), lr=1e-2, weight_decay=0.0, foreach=False)

    def step(ids, labels):
        optimizer.zero_grad(set_to_none=True)
        composed = dict(W, **{name: W[name].index_copy(0, index, delta) for name, delta in deltas.items()})
        loss = loss_of(cfg, composed, ids, labels)
        loss.backward()
        optimizer.step()
        return loss.item()

    return step


def main():
    request = json.loads(sys.stdin.readline())
    torch.set_num_threads(request["threads"])
    blas = blas_report()
    cfg = json.load(open(request["dir"] + "/config.json"))
    load_ms, W = timed(lambda: read_weights(request["dir"]))
    ids = torch.tensor(request["ids"])
    labels = torch.tensor(request["labels"])
    new_rows_step = new_rows_trainer(cfg, W, request["new_ids"]) if request.get("new_ids") else None

    def forward_only():
        with torch.no_grad():
            forward(cfg, W, ids)

    def answer(value):
        print(json.dumps({**value, "peak_rss_mb": peak_rss_mb()}), flush=True)

    answer({"threads": torch.get_num_threads(), "torch_version": torch.__version__, "load_ms": load_ms, "blas": blas})
    for line in sys.stdin:
        command = line.strip()
        if command == "forward":
            answer({"ms": timed(forward_only)[0]})
        elif command == "step":
            ms, loss = timed(lambda: full_step(cfg, W, ids, labels))
            answer({"ms": ms, "loss": loss})
        elif command == "new-rows-step" and new_rows_step is not None:
            ms, loss = timed(lambda: new_rows_step(ids, labels))
            answer({"ms": ms, "loss": loss})
        else:
            answer({"error": f"unknown command {command!r}"})


if __name__ == "__main__":
    main()
