//! gemma3: the embedding scaled by √dim, GELU (tanh) feed-forward, norms
//! after attention and feed-forward too (tensors the file has), five
//! sliding-window layers rotating with base 10,000 for every global one, and
//! soft-capping where the file sets it.

use super::{Config, Header, LoadError, Rope};

pub(super) fn config(h: &Header) -> Result<(Config, Rope), LoadError> {
    let (mut cfg, mut rope) = h.common()?;
    let n_layer = h.get("block_count")?;
    cfg.neox = true;
    cfg.embed_scale = (cfg.dim as f32).sqrt();
    cfg.gelu = true;
    // llama.cpp's rule: Gemma 3 27B (62 layers) scales queries by 1/√(dim/heads).
    let query_pre_attn = if n_layer == 62 { cfg.dim / cfg.n_head } else { cfg.head_dim };
    cfg.query_scale = 1.0 / (query_pre_attn as f32).sqrt();
    cfg.sliding_window = h.get("attention.sliding_window").ok();
    if cfg.sliding_window.is_some() {
        rope.local_pattern = Some(h.get("attention.sliding_window_pattern").unwrap_or(6));
    }
    // Global layers may stretch their rotation linearly.
    if h.string("rope.scaling.type") == Some("linear") {
        rope.linear_scale = h.f32_or("rope.scaling.factor", 1.0).max(1.0);
    }
    Ok((cfg, rope))
}
