"""A stand-in for transformers' DINOv2 and DINOv3 backbones, for checking hf_transformers_vision.py's plumbing where
transformers is not installed: the same module trees and parameter names (Dinov2Model: embeddings.{cls_token,
mask_token, register_tokens, position_embeddings, patch_embeddings.projection}, encoder.layer[i].{norm1,
attention.attention.{query,key,value}, attention.output.dense, layer_scale1.lambda1, norm2, mlp.fc1, mlp.fc2,
layer_scale2.lambda1}, layernorm; DINOv3ViTModel: embeddings.{cls_token, mask_token, register_tokens,
patch_embeddings}, rope_embeddings (inv_freq, a buffer), layer[i].{norm1, attention.{q,k,v,o}_proj, layer_scale1,
norm2, mlp.{gate,up,down}_proj, layer_scale2}, norm), the call conventions (embeddings(pixel_values [B, C, H, W]);
a Dinov2 layer takes the hidden states and returns a tensor, or a 1-tuple as before transformers 4.54; a DINOv3 layer
takes attention_mask and position_embeddings = rope_embeddings(pixel_values)), a config whose _attn_implementation
the attention reads per call, and a `transformers` module (AutoConfig.for_model, AutoModel.from_config, the classes)
to put in sys.modules.

The arithmetic is written here from the architectures' description (not from the engine): a real convolution for the
patches, nn.LayerNorm / nn.Linear modules, the position table resized bicubically in float32 when the grid differs
(antialiased in the registers model), RoPE angles 2π·(patch centre in [-1, 1])·θ^(-4j/d) for (y, x) then repeated,
the prefix tokens not rotated, softmax attention (in float32 as transformers' eager attention, float64 kept for tight
checks). Training mode is refused (the engine keeps the model in eval mode)."""
from __future__ import annotations

import importlib.machinery
import math
import types
from types import SimpleNamespace
from typing import Any, Dict, Optional, Sequence, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F

DEFAULTS: Dict[str, Dict[str, Any]] = {
    "dinov2": {"hidden_size": 768, "num_hidden_layers": 12, "num_attention_heads": 12, "mlp_ratio": 4, "hidden_act": "gelu",
               "layer_norm_eps": 1e-6, "image_size": 224, "patch_size": 14, "num_channels": 3, "qkv_bias": True,
               "layerscale_value": 1.0, "use_swiglu_ffn": False, "num_register_tokens": 0},
    "dinov2_with_registers": {"hidden_size": 768, "num_hidden_layers": 12, "num_attention_heads": 12, "mlp_ratio": 4,
                              "hidden_act": "gelu", "layer_norm_eps": 1e-6, "image_size": 224, "patch_size": 16, "num_channels": 3,
                              "qkv_bias": True, "layerscale_value": 1.0, "use_swiglu_ffn": False, "num_register_tokens": 4},
    "dinov3_vit": {"hidden_size": 384, "intermediate_size": 1536, "num_hidden_layers": 12, "num_attention_heads": 6,
                   "hidden_act": "gelu", "layer_norm_eps": 1e-5, "image_size": 224, "patch_size": 16, "num_channels": 3,
                   "rope_theta": 100.0, "query_bias": True, "key_bias": False, "value_bias": True, "proj_bias": True,
                   "mlp_bias": True, "use_gated_mlp": False, "num_register_tokens": 0, "layerscale_value": 1.0},
}
ACT = {"gelu": F.gelu, "silu": F.silu}


class Config:
    def __init__(self, model_type: str, **kw: Any) -> None:
        self.model_type = model_type
        for k, v in {**DEFAULTS[model_type], **kw}.items():
            setattr(self, k, v)
        self._attn_implementation = "sdpa"
        self.calls: Dict[str, int] = {"eager": 0, "sdpa": 0}  # attention calls per implementation


def attend(config: Config, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """[B, H, T, d] -> [B, T, H·d]: non-causal softmax attention by the config's implementation at call time."""
    impl = config._attn_implementation
    config.calls[impl] += 1
    d = q.shape[-1]
    if impl == "sdpa" and hasattr(F, "scaled_dot_product_attention"):
        o = F.scaled_dot_product_attention(q, k, v)
    else:
        s = (q @ k.transpose(-1, -2)) * d ** -0.5
        o = torch.softmax(s, -1, dtype=torch.float64 if s.dtype == torch.float64 else torch.float32).to(q.dtype) @ v
    B, H, T, _ = o.shape
    return o.transpose(1, 2).reshape(B, T, H * d)


class LayerScale(nn.Module):
    def __init__(self, config: Config) -> None:
        super().__init__()
        self.lambda1 = nn.Parameter(config.layerscale_value * torch.ones(config.hidden_size))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.lambda1


class Eval(nn.Module):
    def check(self) -> None:
        assert not self.training, "the stand-in runs in eval mode only"


# -- DINOv2 -----------------------------------------------------------------------------------------------------------
class PatchEmbeddings(nn.Module):
    def __init__(self, config: Config) -> None:
        super().__init__()
        self.num_channels = config.num_channels
        self.projection = nn.Conv2d(config.num_channels, config.hidden_size, config.patch_size, config.patch_size)

    def forward(self, pixel_values: torch.Tensor) -> torch.Tensor:
        assert pixel_values.shape[1] == self.num_channels
        return self.projection(pixel_values).flatten(2).transpose(1, 2)


class Dinov2Embeddings(Eval):
    def __init__(self, config: Config, registers: bool) -> None:
        super().__init__()
        D = config.hidden_size
        n = (config.image_size // config.patch_size) ** 2
        self.config, self.registers = config, registers
        self.cls_token = nn.Parameter(torch.randn(1, 1, D))
        self.mask_token = nn.Parameter(torch.zeros(1, D))
        if registers:
            self.register_tokens = nn.Parameter(torch.zeros(1, config.num_register_tokens, D))
        self.patch_embeddings = PatchEmbeddings(config)
        self.position_embeddings = nn.Parameter(torch.randn(1, n + 1, D))

    def positions(self, n: int, height: int, width: int) -> torch.Tensor:
        table = self.position_embeddings
        n0 = table.shape[1] - 1
        if n == n0 and height == width:
            return table
        G, D = int(math.sqrt(n0)), table.shape[-1]
        grid = table[:, 1:].reshape(1, G, G, D).permute(0, 3, 1, 2)
        p = self.config.patch_size
        resized = F.interpolate(grid.to(torch.float32), size=(height // p, width // p), mode="bicubic", align_corners=False,
                                antialias=self.registers).to(table.dtype)
        return torch.cat([table[:, :1], resized.permute(0, 2, 3, 1).reshape(1, -1, D)], 1)

    def forward(self, pixel_values: torch.Tensor, bool_masked_pos: Optional[torch.Tensor] = None) -> torch.Tensor:
        self.check()
        B, _, height, width = pixel_values.shape
        x = self.patch_embeddings(pixel_values.to(self.patch_embeddings.projection.weight.dtype))
        x = torch.cat([self.cls_token.expand(B, -1, -1), x], 1)
        x = x + self.positions(x.shape[1] - 1, height, width)
        if self.registers:
            x = torch.cat([x[:, :1], self.register_tokens.expand(B, -1, -1), x[:, 1:]], 1)
        return x


class SelfAttention(nn.Module):
    def __init__(self, config: Config) -> None:
        super().__init__()
        D = config.hidden_size
        self.config, self.heads = config, config.num_attention_heads
        self.query = nn.Linear(D, D, bias=config.qkv_bias)
        self.key = nn.Linear(D, D, bias=config.qkv_bias)
        self.value = nn.Linear(D, D, bias=config.qkv_bias)

    def forward(self, hidden_states: torch.Tensor) -> Tuple[torch.Tensor, None]:
        B, T, D = hidden_states.shape

        def heads(t: torch.Tensor) -> torch.Tensor:
            return t.view(B, T, self.heads, D // self.heads).transpose(1, 2)

        return attend(self.config, heads(self.query(hidden_states)), heads(self.key(hidden_states)), heads(self.value(hidden_states))), None


class SelfOutput(nn.Module):
    def __init__(self, config: Config) -> None:
        super().__init__()
        self.dense = nn.Linear(config.hidden_size, config.hidden_size)

    def forward(self, hidden_states: torch.Tensor, input_tensor: torch.Tensor) -> torch.Tensor:
        return self.dense(hidden_states)


class Dinov2Attention(nn.Module):
    def __init__(self, config: Config) -> None:
        super().__init__()
        self.attention = SelfAttention(config)
        self.output = SelfOutput(config)

    def forward(self, hidden_states: torch.Tensor) -> torch.Tensor:
        return self.output(self.attention(hidden_states)[0], hidden_states)


class Dinov2Mlp(nn.Module):
    def __init__(self, config: Config) -> None:
        super().__init__()
        D = config.hidden_size
        Fh = int(D * config.mlp_ratio)
        self.fc1, self.fc2 = nn.Linear(D, Fh), nn.Linear(Fh, D)
        self.act = ACT[config.hidden_act]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(self.act(self.fc1(x)))


class Dinov2Layer(Eval):
    def __init__(self, config: Config, tuple_out: bool) -> None:
        super().__init__()
        D = config.hidden_size
        self.tuple_out = tuple_out
        self.norm1 = nn.LayerNorm(D, eps=config.layer_norm_eps)
        self.attention = Dinov2Attention(config)
        self.layer_scale1 = LayerScale(config)
        self.norm2 = nn.LayerNorm(D, eps=config.layer_norm_eps)
        self.mlp = Dinov2Mlp(config)
        self.layer_scale2 = LayerScale(config)

    def forward(self, hidden_states: torch.Tensor) -> Any:
        self.check()
        x = hidden_states + self.layer_scale1(self.attention(self.norm1(hidden_states)))
        out = x + self.layer_scale2(self.mlp(self.norm2(x)))
        return (out,) if self.tuple_out else out


class Encoder(nn.Module):
    def __init__(self, config: Config, tuple_out: bool) -> None:
        super().__init__()
        self.layer = nn.ModuleList([Dinov2Layer(config, tuple_out) for _ in range(config.num_hidden_layers)])


class Dinov2Model(nn.Module):
    """Layers return 1-tuples (transformers before 4.54)."""
    registers = False
    tuple_out = True

    def __init__(self, config: Config) -> None:
        super().__init__()
        self.config = config
        self.embeddings = Dinov2Embeddings(config, self.registers)
        self.encoder = Encoder(config, self.tuple_out)
        self.layernorm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)

    def forward(self, pixel_values: torch.Tensor) -> Any:
        x = self.embeddings(pixel_values)
        for layer in self.encoder.layer:
            out = layer(x)
            x = out[0] if isinstance(out, tuple) else out
        return SimpleNamespace(last_hidden_state=self.layernorm(x))


class Dinov2WithRegistersModel(Dinov2Model):
    """Layers return tensors (transformers 4.54 and later)."""
    registers = True
    tuple_out = False


# -- DINOv3 -----------------------------------------------------------------------------------------------------------
class Dinov3Embeddings(Eval):
    def __init__(self, config: Config) -> None:
        super().__init__()
        D = config.hidden_size
        self.cls_token = nn.Parameter(torch.randn(1, 1, D))
        self.mask_token = nn.Parameter(torch.zeros(1, 1, D))
        self.register_tokens = nn.Parameter(torch.randn(1, config.num_register_tokens, D))
        self.patch_embeddings = nn.Conv2d(config.num_channels, D, config.patch_size, config.patch_size)

    def forward(self, pixel_values: torch.Tensor, bool_masked_pos: Optional[torch.Tensor] = None) -> torch.Tensor:
        self.check()
        B = pixel_values.shape[0]
        x = self.patch_embeddings(pixel_values.to(self.patch_embeddings.weight.dtype)).flatten(2).transpose(1, 2)
        return torch.cat([self.cls_token.expand(B, -1, -1), self.register_tokens.expand(B, -1, -1), x], 1)


class Rope(Eval):
    inv_freq: torch.Tensor

    def __init__(self, config: Config) -> None:
        super().__init__()
        self.config = config
        self.head_dim = config.hidden_size // config.num_attention_heads
        self.register_buffer("inv_freq", self.frequencies(torch.float32), persistent=False)
        self.calls = 0

    def frequencies(self, dtype: torch.dtype) -> torch.Tensor:
        """θ^(-4j/d), j < d/4."""
        return 1.0 / float(self.config.rope_theta) ** torch.arange(0, 1, 4 / self.head_dim, dtype=dtype)

    def forward(self, pixel_values: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        self.check()
        self.calls += 1
        _, _, height, width = pixel_values.shape
        p = self.config.patch_size
        wide = torch.float64 if pixel_values.dtype == torch.float64 else torch.float32  # transformers: float32
        inv = self.inv_freq if wide == torch.float32 else self.frequencies(wide)
        ys = (torch.arange(height // p, dtype=wide) + 0.5) / (height // p) * 2 - 1
        xs = (torch.arange(width // p, dtype=wide) + 0.5) / (width // p) * 2 - 1
        yy, xx = torch.meshgrid(ys, xs, indexing="ij")
        centres = torch.stack([yy.reshape(-1), xx.reshape(-1)], -1).to(pixel_values.device)  # [P, 2] (y, x)
        angles = (2 * math.pi * centres[:, :, None] * inv.to(pixel_values.device)[None, None, :]).flatten(1)  # [P, d/2]
        angles = torch.cat([angles, angles], -1)
        return angles.cos().to(pixel_values.dtype), angles.sin().to(pixel_values.dtype)


def rotate(t: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    n = cos.shape[-2]
    head, patches = t[..., :-n, :], t[..., -n:, :]
    h = t.shape[-1] // 2
    turned = torch.cat([-patches[..., h:], patches[..., :h]], -1)
    return torch.cat([head, patches * cos + turned * sin], -2)


class Dinov3Attention(nn.Module):
    def __init__(self, config: Config) -> None:
        super().__init__()
        D = config.hidden_size
        self.config, self.heads = config, config.num_attention_heads
        self.q_proj = nn.Linear(D, D, bias=config.query_bias)
        self.k_proj = nn.Linear(D, D, bias=config.key_bias)
        self.v_proj = nn.Linear(D, D, bias=config.value_bias)
        self.o_proj = nn.Linear(D, D, bias=config.proj_bias)

    def forward(self, hidden_states: torch.Tensor, attention_mask: Optional[torch.Tensor] = None,
                position_embeddings: Optional[Tuple[torch.Tensor, torch.Tensor]] = None, **kw: Any) -> Tuple[torch.Tensor, None]:
        assert attention_mask is None and position_embeddings is not None
        B, T, D = hidden_states.shape

        def heads(t: torch.Tensor) -> torch.Tensor:
            return t.view(B, T, self.heads, D // self.heads).transpose(1, 2)

        cos, sin = position_embeddings
        q = rotate(heads(self.q_proj(hidden_states)), cos, sin)
        k = rotate(heads(self.k_proj(hidden_states)), cos, sin)
        return self.o_proj(attend(self.config, q, k, heads(self.v_proj(hidden_states)))), None


class Dinov3Mlp(nn.Module):
    def __init__(self, config: Config) -> None:
        super().__init__()
        D, Fh, b = config.hidden_size, config.intermediate_size, config.mlp_bias
        self.gated = config.use_gated_mlp
        if self.gated:
            self.gate_proj = nn.Linear(D, Fh, bias=b)
        self.up_proj, self.down_proj = nn.Linear(D, Fh, bias=b), nn.Linear(Fh, D, bias=b)
        self.act = ACT[config.hidden_act]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.act(self.gate_proj(x)) * self.up_proj(x) if self.gated else self.act(self.up_proj(x))
        return self.down_proj(h)


class Dinov3Layer(Eval):
    def __init__(self, config: Config) -> None:
        super().__init__()
        D = config.hidden_size
        self.norm1 = nn.LayerNorm(D, eps=config.layer_norm_eps)
        self.attention = Dinov3Attention(config)
        self.layer_scale1 = LayerScale(config)
        self.norm2 = nn.LayerNorm(D, eps=config.layer_norm_eps)
        self.mlp = Dinov3Mlp(config)
        self.layer_scale2 = LayerScale(config)

    def forward(self, hidden_states: torch.Tensor, attention_mask: Optional[torch.Tensor] = None,
                position_embeddings: Optional[Tuple[torch.Tensor, torch.Tensor]] = None) -> torch.Tensor:
        self.check()
        a, _ = self.attention(self.norm1(hidden_states), attention_mask=attention_mask, position_embeddings=position_embeddings)
        x = hidden_states + self.layer_scale1(a)
        return x + self.layer_scale2(self.mlp(self.norm2(x)))


class DINOv3ViTModel(nn.Module):
    def __init__(self, config: Config) -> None:
        super().__init__()
        self.config = config
        self.embeddings = Dinov3Embeddings(config)
        self.rope_embeddings = Rope(config)
        self.layer = nn.ModuleList([Dinov3Layer(config) for _ in range(config.num_hidden_layers)])
        self.norm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)

    def forward(self, pixel_values: torch.Tensor) -> Any:
        pixel_values = pixel_values.to(self.embeddings.patch_embeddings.weight.dtype)
        x = self.embeddings(pixel_values)
        pe = self.rope_embeddings(pixel_values)
        for layer in self.layer:
            x = layer(x, position_embeddings=pe)
        return SimpleNamespace(last_hidden_state=self.norm(x))


CLASSES = {"dinov2": Dinov2Model, "dinov2_with_registers": Dinov2WithRegistersModel, "dinov3_vit": DINOv3ViTModel}


def model_for(model_type: str, **config: Any) -> nn.Module:
    return CLASSES[model_type](Config(model_type, **config))


def transformers_module(version: str = "4.56.1", classes: Sequence[str] = ("Dinov2Model", "Dinov2WithRegistersModel", "DINOv3ViTModel")) -> types.ModuleType:
    """A `transformers` to put in sys.modules: __version__, AutoConfig.for_model, AutoModel.from_config (which keeps
    the models it built in `built`) and the model classes named in `classes`."""
    mod = types.ModuleType("transformers")
    mod.__spec__ = importlib.machinery.ModuleSpec("transformers", None)
    mod.__version__ = version  # type: ignore[attr-defined]
    built = []

    class AutoConfig:
        @staticmethod
        def for_model(model_type: str, **kw: Any) -> Config:
            return Config(model_type, **kw)

    class AutoModel:
        @staticmethod
        def from_config(config: Config, attn_implementation: Optional[str] = None) -> nn.Module:
            if attn_implementation is not None:
                config._attn_implementation = attn_implementation
            m = CLASSES[config.model_type](config)
            built.append(m)
            return m

    mod.AutoConfig = AutoConfig  # type: ignore[attr-defined]
    mod.AutoModel = AutoModel  # type: ignore[attr-defined]
    mod.built = built  # type: ignore[attr-defined]
    for name in classes:
        setattr(mod, name, {c.__name__: c for c in CLASSES.values()}[name])
    return mod
