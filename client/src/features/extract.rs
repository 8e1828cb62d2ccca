//! Batched, parallel feature extraction: rayon over batches of images, one [`Scratch`] per
//! worker task, an optional indicatif progress bar.

use indicatif::ProgressBar;
use rayon::prelude::*;

use super::deit::{DeiT, Scratch};

/// Images per forward batch when the caller does not choose: large enough for efficient matrix
/// products, small enough that the working set stays in cache for small models.
pub const DEFAULT_BATCH: usize = 16;

impl DeiT {
    /// Features `[n, D]` of `n` preprocessed u8 images `[n, C, S, S]` (see
    /// [`super::images::ImageSet`]), `batch` images per forward pass, batches spread over the
    /// current rayon pool.
    pub fn extract(&self, pixels: &[u8], batch: usize, progress: Option<&ProgressBar>) -> Vec<f32> {
        let ppi = self.arch().pixels_per_image();
        assert_eq!(
            pixels.len() % ppi,
            0,
            "pixel buffer is not a whole number of images"
        );
        let n = pixels.len() / ppi;
        let d = self.feature_dim();
        let batch = batch.max(1);
        let mut out = vec![0.0f32; n * d];
        out.par_chunks_mut(batch * d)
            .zip(pixels.par_chunks(batch * ppi))
            .for_each_init(
                || Scratch::new(self.arch(), batch),
                |scratch, (o, px)| {
                    let b = px.len() / ppi;
                    self.forward_u8(px, b, scratch, o);
                    if let Some(pb) = progress {
                        pb.inc(b as u64);
                    }
                },
            );
        out
    }
}
