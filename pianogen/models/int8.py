"""int8 weights for sampling on a CPU: the same model, its matrix products 4x smaller.

At batch 1 a sampling step is bound by reading weights: a 2x512 LSTM step reads 8 MB of fp32
weights per event, whatever the arithmetic. Stored as int8 (one scale per output row, i.e.
per channel) and multiplied by FBGEMM's dynamic int8 kernels (the activation is quantized per
call), the LSTM's and the heads' products took 0.15 ms instead of 1.24 ms per step here
(benchmarks/int8.py measures whole samples and the likelihood change).

:func:`int8_for_cpu` returns a copy of a loaded autoregressive model with every ``nn.Linear``
replaced by PyTorch's dynamic int8 Linear and every LSTM/GRU by :class:`Int8RNN`, which runs
the same cells as :func:`pianogen.models.rnn_step.rnn_step` (``lstm_cell``, ``gru_cell``) on int8 weights, one step at
a time (also over a whole sequence, so the likelihood code measures exactly what sampling
plays). Embeddings, norms, attention scores and the Transformer's tied output layer stay fp32.
Inference only; CPU only.
"""

from __future__ import annotations

import copy
import warnings

import torch
import torch.nn as nn

from pianogen.models.rnn_step import gru_cell, lstm_cell


def _pack(weight: torch.Tensor, bias: torch.Tensor | None):
    """FBGEMM's packed int8 form of ``weight`` (out, in): symmetric, one scale per output row."""
    w = weight.detach().float()
    scale = (w.abs().amax(1) / 127.0).clamp_min(1e-12).double()
    with warnings.catch_warnings():
        # Quantized tensors are deprecated in favour of torchao; torch==2.13.0 (pinned) has them,
        # and nothing else gives these kernels without a new dependency.
        warnings.simplefilter("ignore", UserWarning)
        q = torch.quantize_per_channel(w, scale, torch.zeros(w.shape[0], dtype=torch.long), 0, torch.qint8)
    return torch.ops.quantized.linear_prepack(q, None if bias is None else bias.detach().float())


def _linear(x: torch.Tensor, packed) -> torch.Tensor:
    # reduce_range: activations on 7 bits. On x86 without VNNI (AVX2 only) FBGEMM multiplies
    # with vpmaddubsw, whose int16 pair sums saturate on full-range activations: measured 19% max
    # error on an AVX2 EPYC against 1.5% with it (PyTorch's own dynamic qconfig sets it for x86).
    return torch.ops.quantized.linear_dynamic(x.contiguous(), packed, True)


class Int8RNN(nn.Module):
    """An ``nn.LSTM`` or ``nn.GRU`` (batch_first) with int8 weights, stepped one time step at a time.

    ``forward(x (B, T, in), state)`` -> (outputs (B, T, hidden), state) and ``step(x (B, in),
    state)`` -> (top-layer output (B, hidden), state), states in the source module's format.
    """

    def __init__(self, rnn: nn.LSTM | nn.GRU):
        super().__init__()
        if not rnn.batch_first or rnn.bidirectional or getattr(rnn, "proj_size", 0):
            raise ValueError("Int8RNN takes a batch_first, unidirectional RNN without projections")
        self.is_lstm = isinstance(rnn, nn.LSTM)
        self.num_layers, self.hidden_size = rnn.num_layers, rnn.hidden_size
        self._packed = []
        for layer in range(rnn.num_layers):
            w_ih, w_hh = getattr(rnn, f"weight_ih_l{layer}"), getattr(rnn, f"weight_hh_l{layer}")
            b_ih, b_hh = getattr(rnn, f"bias_ih_l{layer}"), getattr(rnn, f"bias_hh_l{layer}")
            if self.is_lstm:
                # One product per layer: [x, h] @ [W_ih, W_hh]^T + (b_ih + b_hh).
                self._packed.append(_pack(torch.cat([w_ih, w_hh], 1), b_ih + b_hh))
            else:
                # A GRU needs the two products apart (the reset gate scales only the hidden one).
                self._packed.append((_pack(w_ih, b_ih), _pack(w_hh, b_hh)))

    def step(self, x: torch.Tensor, state=None):
        if state is None:
            zeros = x.new_zeros(self.num_layers, x.shape[0], self.hidden_size)
            state = (zeros, zeros.clone()) if self.is_lstm else zeros
        hs, cs = [], []
        for layer, packed in enumerate(self._packed):
            if self.is_lstm:
                h, c = lstm_cell(_linear(torch.cat([x, state[0][layer]], 1), packed), state[1][layer])
                cs.append(c)
            else:
                h = gru_cell(_linear(x, packed[0]), _linear(state[layer], packed[1]), state[layer])
            hs.append(h)
            x = h
        return x, ((torch.stack(hs), torch.stack(cs)) if self.is_lstm else torch.stack(hs))

    def forward(self, x: torch.Tensor, state=None):
        outs = []
        for t in range(x.shape[1]):
            h, state = self.step(x[:, t], state)
            outs.append(h)
        return torch.stack(outs, 1), state


def int8_for_cpu(model: nn.Module) -> nn.Module:
    """A copy of ``model`` (an autoregressive model on the CPU, in eval mode) with int8 weights
    in its linear layers and recurrent cells; the original is left as it was."""
    from torch.ao.nn.quantized.dynamic import Linear as DynamicLinear
    from torch.ao.quantization import per_channel_dynamic_qconfig

    out = copy.deepcopy(model).eval()
    for name, module in list(out.named_modules()):
        for child_name, child in list(module.named_children()):
            if isinstance(child, (nn.LSTM, nn.GRU)):
                setattr(module, child_name, Int8RNN(child))
            elif type(child) is nn.Linear:
                child.qconfig = per_channel_dynamic_qconfig
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", UserWarning)
                    setattr(module, child_name, DynamicLinear.from_float(child))
    out.int8 = True
    return out
