//! The whole `blindtune features` job as a library function: load config, checkpoint and images,
//! extract with a progress bar, write the output. The CLI is a thin wrapper around [`run`].

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use indicatif::{ProgressBar, ProgressStyle};

use super::deit::DeiT;
use super::error::{FeatureError, Result};
use super::images::ImageSet;
use super::output::{self, FeatureOutput};

/// Inputs of one extraction job.
#[derive(Debug, Clone)]
pub struct Job {
    pub model: PathBuf,
    pub config: PathBuf,
    /// A safetensors file with a u8 image tensor, or a folder of PNGs.
    pub images: PathBuf,
    pub out: PathBuf,
    pub images_key: String,
    pub labels_key: String,
    /// Images per forward batch.
    pub batch: usize,
    /// Worker threads; 0 = rayon's default (all cores or `RAYON_NUM_THREADS`).
    pub threads: usize,
    /// Only the first `limit` images.
    pub limit: Option<usize>,
    /// Also write `.npy` files.
    pub npy: bool,
    pub progress: bool,
}

impl Job {
    /// A job with the defaults of the CLI.
    pub fn new(
        model: impl Into<PathBuf>,
        config: impl Into<PathBuf>,
        images: impl Into<PathBuf>,
        out: impl Into<PathBuf>,
    ) -> Self {
        Job {
            model: model.into(),
            config: config.into(),
            images: images.into(),
            out: out.into(),
            images_key: "images".into(),
            labels_key: "labels".into(),
            batch: super::DEFAULT_BATCH,
            threads: 0,
            limit: None,
            npy: false,
            progress: false,
        }
    }
}

/// What a job did.
#[derive(Debug, Clone)]
pub struct Summary {
    pub images: usize,
    pub feature_dim: usize,
    pub has_labels: bool,
    pub seconds: f64,
    pub images_per_sec: f64,
    pub written: Vec<PathBuf>,
}

/// Runs a job.
pub fn run(job: &Job) -> Result<Summary> {
    let model = DeiT::load(&job.model, &job.config)?;
    let arch = model.arch().clone();
    let mut set = ImageSet::load(
        &job.images,
        &arch,
        &model.config.input,
        &job.images_key,
        &job.labels_key,
    )?;
    if let Some(limit) = job.limit {
        if limit < set.n {
            set = set.select(&(0..limit).collect::<Vec<_>>());
        }
    }
    if set.n == 0 {
        return Err(FeatureError::Images {
            path: job.images.clone(),
            message: "no images".into(),
        });
    }
    tracing::info!(
        images = set.n,
        model = %model.config.name,
        batch = job.batch,
        "extracting features"
    );
    let pb = if job.progress {
        let pb = ProgressBar::new(set.n as u64);
        pb.set_style(
            ProgressStyle::with_template("{bar:40} {pos}/{len} images, {per_sec}, eta {eta}")
                .expect("static template"),
        );
        pb
    } else {
        ProgressBar::hidden()
    };
    let start = Instant::now();
    let features = if job.threads > 0 {
        rayon::ThreadPoolBuilder::new()
            .num_threads(job.threads)
            .build()
            .map_err(|e| FeatureError::Config {
                field: "threads".into(),
                message: e.to_string(),
            })?
            .install(|| model.extract(&set.pixels, job.batch, Some(&pb)))
    } else {
        model.extract(&set.pixels, job.batch, Some(&pb))
    };
    let seconds = start.elapsed().as_secs_f64();
    pb.finish_and_clear();

    let mut metadata = HashMap::new();
    metadata.insert("model".to_string(), model.config.name.clone());
    metadata.insert("model_file".to_string(), file_name(&job.model));
    metadata.insert("images_file".to_string(), file_name(&job.images));
    metadata.insert(
        "feature".to_string(),
        if arch.dist_token {
            "mean of final-normed class and distillation tokens".to_string()
        } else {
            "final-normed class token".to_string()
        },
    );
    metadata.insert(
        "producer".to_string(),
        format!("blindtune-client {}", env!("CARGO_PKG_VERSION")),
    );
    if !set.classes.is_empty() {
        metadata.insert(
            "classes".to_string(),
            serde_json::to_string(&set.classes).unwrap_or_default(),
        );
    }
    if !set.files.is_empty() {
        metadata.insert(
            "files".to_string(),
            serde_json::to_string(&set.files).unwrap_or_default(),
        );
    }
    let d = model.feature_dim();
    let written = output::write(
        &FeatureOutput {
            features: &features,
            n: set.n,
            d,
            labels: set.labels.as_ref(),
            metadata,
        },
        &job.out,
        job.npy,
    )?;
    Ok(Summary {
        images: set.n,
        feature_dim: d,
        has_labels: set.labels.is_some(),
        seconds,
        images_per_sec: set.n as f64 / seconds,
        written,
    })
}

fn file_name(p: &Path) -> String {
    p.file_name()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default()
}
