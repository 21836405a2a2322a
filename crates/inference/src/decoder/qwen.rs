//! qwen2 and qwen3: rotation pairs element i with i + d/2 (NeoX style).
//! qwen2's query/key/value biases and qwen3's per-head query and key norms are
//! taken where the file has those tensors.

use super::{Config, Header, LoadError, Rope};

pub(super) fn config(h: &Header) -> Result<(Config, Rope), LoadError> {
    let (mut cfg, rope) = h.common()?;
    cfg.neox = true;
    Ok((cfg, rope))
}
