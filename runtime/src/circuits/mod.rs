//! Circuits built on the CKKS scheme (the Lattigo layering: ring → rlwe → ckks → circuits):
//! polynomial evaluation, linear transforms and bootstrapping. Each circuit declares the keys
//! it needs as a [`crate::ckks::KeyManifest`].

pub mod bootstrapping;
pub mod linear_transform;
pub mod polynomial;
