//! Folder-of-PNG input: class subfolders give labels; images already at the model's size give
//! exactly the features of the same pixels from a safetensors tensor; RGB and other sizes are
//! converted and resized.

use std::path::{Path, PathBuf};

use blindtune_client::features::output::read_f32;
use blindtune_client::features::pipeline::{run, Job};
use blindtune_client::features::{DeiT, ImageSet, Labels};
use safetensors::SafeTensors;

fn data(file: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../data/deit-fmnist")
        .join(file)
}

fn write_png(path: &Path, w: u32, h: u32, color: png::ColorType, pixels: &[u8]) {
    let file = std::fs::File::create(path).unwrap();
    let mut enc = png::Encoder::new(std::io::BufWriter::new(file), w, h);
    enc.set_color(color);
    enc.set_depth(png::BitDepth::Eight);
    let mut writer = enc.write_header().unwrap();
    writer.write_image_data(pixels).unwrap();
}

#[test]
fn png_folder_matches_tensor_input() {
    let bytes = std::fs::read(data("parity.safetensors")).unwrap();
    let st = SafeTensors::deserialize(&bytes).unwrap();
    let images = st.tensor("images").unwrap().data().to_vec();
    let labels = st.tensor("labels").unwrap().data().to_vec();

    let dir = std::env::temp_dir().join(format!("blindtune-png-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    // Class folders named by digit; files named so that sorted order is the tensor order.
    let mut order = Vec::new();
    for (i, &l) in labels.iter().enumerate() {
        let class_dir = dir.join(format!("digit_{l}"));
        std::fs::create_dir_all(&class_dir).unwrap();
        write_png(
            &class_dir.join(format!("img_{i:02}.png")),
            28,
            28,
            png::ColorType::Grayscale,
            &images[i * 784..(i + 1) * 784],
        );
        order.push((l, i));
    }
    order.sort();

    let out = dir.with_extension("features.safetensors");
    let mut job = Job::new(
        data("deit_tiny_fmnist.safetensors"),
        data("config.json"),
        &dir,
        &out,
    );
    job.batch = 4;
    let s = run(&job).unwrap();
    assert_eq!(s.images, 16);
    let (ours, _) = read_f32(&out, "features").unwrap();
    let (reference, _) = read_f32(&data("parity.safetensors"), "features").unwrap();
    let scale = reference.iter().fold(0f32, |m, v| m.max(v.abs()));
    for (row, &(label, i)) in order.iter().enumerate() {
        for j in 0..192 {
            let e = (ours[row * 192 + j] - reference[i * 192 + j]).abs() / scale;
            assert!(e <= 1e-4, "row {row} (image {i}, digit {label}): {e}");
        }
    }
    // Labels are class-folder indices (sorted names), stored in the metadata too.
    let bytes = std::fs::read(&out).unwrap();
    let st = SafeTensors::deserialize(&bytes).unwrap();
    let got_labels = st.tensor("labels").unwrap().data().to_vec();
    let mut classes: Vec<u8> = labels.clone();
    classes.sort();
    classes.dedup();
    let want: Vec<u8> = order
        .iter()
        .map(|(l, _)| classes.iter().position(|c| c == l).unwrap() as u8)
        .collect();
    assert_eq!(got_labels, want);
    let (_, meta) = SafeTensors::read_metadata(&bytes).unwrap();
    let meta = meta.metadata().clone().unwrap();
    assert!(meta["classes"].contains("digit_0"), "{meta:?}");
    std::fs::remove_dir_all(&dir).unwrap();
    std::fs::remove_file(&out).unwrap();
}

#[test]
fn rgb_and_resized_pngs_are_converted() {
    let model = DeiT::load(data("deit_tiny_fmnist.safetensors"), data("config.json")).unwrap();
    let dir = std::env::temp_dir().join(format!("blindtune-png-rgb-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    // A 56x56 RGB image of constant grey 100 -> 28x28 grey 100 (PIL L weights sum to 1).
    write_png(
        &dir.join("a.png"),
        56,
        56,
        png::ColorType::Rgb,
        &[100u8; 56 * 56 * 3],
    );
    // A 28x28 RGBA image: alpha dropped, then luminance.
    let rgba: Vec<u8> = (0..784).flat_map(|_| [255u8, 0, 0, 7]).collect();
    write_png(&dir.join("b.png"), 28, 28, png::ColorType::Rgba, &rgba);
    let set = ImageSet::load(&dir, model.arch(), &model.config.input, "images", "labels").unwrap();
    assert_eq!(set.n, 2);
    assert!(set.labels.is_none());
    assert_eq!(set.files, ["a.png", "b.png"]);
    assert!(set.pixels[..784].iter().all(|&v| v == 100));
    assert!(
        set.pixels[784..].iter().all(|&v| v == 76),
        "{}",
        set.pixels[784]
    ); // 255*0.299
    std::fs::remove_dir_all(&dir).unwrap();
    // Labels of a selection follow the rows.
    assert_eq!(
        Labels::U8(vec![3, 4, 5]).select(&[2, 0]),
        Labels::U8(vec![5, 3])
    );
}
