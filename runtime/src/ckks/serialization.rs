//! Serialization (TODO in this commit series).
