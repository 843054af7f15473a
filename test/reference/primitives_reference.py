"""PyTorch reference for tokenlab's training primitives (cross-entropy, AdamW, gradient clipping).

stdin: {"op": "cross_entropy" | "adamw" | "clip", ...}; stdout: JSON result. See each function.
Run with /usr/bin/python3 (Debian python3-torch).
"""
import json
import sys

import torch
import torch.nn.functional as F


def cross_entropy(req):
    """logits [N, V] (float64), labels [N] with -100 ignored → mean loss, per-position losses, dloss/dlogits."""
    logits = torch.tensor(req["logits"], dtype=torch.float64, requires_grad=True)
    labels = torch.tensor(req["labels"])
    loss = F.cross_entropy(logits, labels, ignore_index=-100)
    per = F.cross_entropy(logits.detach(), labels, ignore_index=-100, reduction="none")
    loss.backward()
    return {"loss": loss.item(), "per_position": per.tolist(), "grad": logits.grad.tolist()}


def adamw(req):
    """groups [{params: [[...]], lr, weight_decay}], grads per step per param → parameters after each step."""
    groups = [
        {"params": [torch.tensor(p, dtype=torch.float32, requires_grad=True) for p in g["params"]], "lr": g["lr"],
         "weight_decay": g["weight_decay"]}
        for g in req["groups"]
    ]
    params = [p for g in groups for p in g["params"]]
    opt = torch.optim.AdamW(groups, betas=(req["beta1"], req["beta2"]), eps=req["eps"], foreach=False)
    history = []
    for step_grads in req["grads"]:
        for p, g in zip(params, step_grads):
            p.grad = None if g is None else torch.tensor(g, dtype=torch.float32)
        opt.step()
        history.append([p.detach().tolist() for p in params])
    return {"history": history}


def clip(req):
    """grads [[...]], max_norm → total norm and clipped gradients (torch.nn.utils.clip_grad_norm_)."""
    params = [torch.zeros(len(g), requires_grad=True) for g in req["grads"]]
    for p, g in zip(params, req["grads"]):
        p.grad = torch.tensor(g, dtype=torch.float32)
    total = torch.nn.utils.clip_grad_norm_(params, req["max_norm"])
    return {"total_norm": total.item(), "grads": [p.grad.tolist() for p in params]}


if __name__ == "__main__":
    request = json.load(sys.stdin)
    json.dump({"cross_entropy": cross_entropy, "adamw": adamw, "clip": clip}[request["op"]](request), sys.stdout)
