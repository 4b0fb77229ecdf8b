"""Exponential moving average of model weights (the weights used for evaluation and export)."""

from __future__ import annotations

import copy

import torch
from torch import nn


class EMA:
    """theta_ema <- d theta_ema + (1 - d) theta, with a warm-up d = 1 - (1 + step)^(-power).

    The decay starts at 0 (the average follows the model closely early on) and approaches
    `max_decay`; power 0.75 gives d ~ 0.999 after 10k steps. Buffers are copied.
    """

    def __init__(self, model: nn.Module, power: float = 0.75, max_decay: float = 0.9999) -> None:
        self.model = copy.deepcopy(model).eval()
        self.model.requires_grad_(False)
        self.power = power
        self.max_decay = max_decay
        self.updates = 0

    def decay(self) -> float:
        return min(self.max_decay, max(0.0, 1 - (1 + self.updates) ** (-self.power)))

    @torch.no_grad()
    def update(self, model: nn.Module) -> None:
        decay = self.decay()
        ema_params = dict(self.model.named_parameters())
        for name, param in model.named_parameters():
            ema_params[name].lerp_(param.detach(), 1 - decay)
        ema_buffers = dict(self.model.named_buffers())
        for name, buffer in model.named_buffers():
            ema_buffers[name].copy_(buffer)
        self.updates += 1

    def state_dict(self) -> dict:
        return {"model": self.model.state_dict(), "updates": self.updates}

    def load_state_dict(self, state: dict) -> None:
        self.model.load_state_dict(state["model"])
        self.updates = int(state["updates"])
