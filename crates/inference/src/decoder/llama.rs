//! llama and mistral (and SmolLM2, Llama 3.x): the shared layers as they are.
//! GGUF stores llama's query and key weights permuted so that rotation pairs
//! elements 2i and 2i + 1.

use super::{Config, Header, LoadError, Rope};

pub(super) fn config(h: &Header) -> Result<(Config, Rope), LoadError> {
    h.common()
}
