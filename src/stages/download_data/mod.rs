//! Lab cell "Download Data": fetch the competition archive and extract the
//! files the lab uses, natively (no kaggle CLI) and safely.
//!
//! Protocol as the kaggle CLI's REST API: `GET {api}/competitions/data/
//! download-all/{dataset}` with HTTP Basic (or Bearer) auth, which redirects
//! to a signed storage URL. Redirects are followed here, not by the HTTP
//! client, so the Kaggle credentials only ever go to the API's own origin.
//! The archive streams to `{dataset}.zip.part`, resumes with `Range` after a
//! cut, and is renamed to `{dataset}.zip` only when its length checks out.

//!
//! `fetch` is the resumable HTTP client, `extract` the zip reader; this
//! module is the stage: where the archive comes from, whether the files are
//! already there, and what was done.

use std::path::{Path, PathBuf};
use std::time::Duration;

use reqwest::Url;

use crate::artifact::ensure_writable_dir;
use crate::error::{Error, Result};
use crate::files;
use crate::progress::Progress;
use credentials::{KaggleCredentials, Lookup};

pub mod credentials;
mod extract;
mod fetch;

pub use extract::extract;
use extract::safe_member_name;
use fetch::{download_archive, shown};

/// The lab's competition.
pub const DEFAULT_DATASET: &str = "g-research-crypto-forecasting";
/// Kaggle's REST API root.
pub const DEFAULT_KAGGLE_API: &str = "https://www.kaggle.com/api/v1";
/// The archive members the lab extracts.
pub const DEFAULT_FILES: [&str; 2] = [files::TRAIN_CSV, files::ASSET_DETAILS_CSV];

/// Where the archive comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// Kaggle's API at this root URL (credentials needed).
    Kaggle {
        /// API root, e.g. `https://www.kaggle.com/api/v1`.
        api: String,
    },
    /// Any http(s) URL of the same archive (a workshop mirror); no
    /// credentials are sent.
    Url(String),
    /// A zip file already on disk.
    Zip(PathBuf),
}

impl Source {
    /// `kaggle`, an `http(s)://` URL, or a path to a zip file.
    pub fn parse(text: &str, kaggle_api: &str) -> Source {
        if text == "kaggle" {
            Source::Kaggle {
                api: kaggle_api.to_string(),
            }
        } else if text.starts_with("http://") || text.starts_with("https://") {
            Source::Url(text.to_string())
        } else {
            Source::Zip(PathBuf::from(text))
        }
    }
}

/// Options of download_data; the defaults are the lab's.
#[derive(Debug, Clone)]
pub struct DownloadOptions {
    /// Competition name (the lab's `dataset` parameter).
    pub dataset: String,
    /// Where the archive comes from.
    pub source: Source,
    /// Members to extract into the data path.
    pub files: Vec<String>,
    /// Where to look for credentials (Kaggle source only).
    pub lookup: Lookup,
    /// Download and extract again even if the files are there.
    pub force: bool,
    /// Further attempts after a transient failure.
    pub retries: u32,
    /// Wait before the first retry; doubles each time.
    pub backoff: Duration,
    /// Give up an attempt when no byte arrives for this long (a stalled
    /// mirror otherwise holds the data path's lock for ever).
    pub idle_timeout: Duration,
    /// The largest archive accepted, declared or received.
    pub max_bytes: u64,
}

/// Nearly twice everything a full-size run leaves in the data path
/// (`doctor::FULL_RUN_BYTES`, measured; the archive is a part of that):
/// room for a re-packed mirror, and still an end to an endless or hostile
/// stream long before a disk fills.
pub const DEFAULT_MAX_BYTES: u64 = 16 << 30;
/// No byte for this long ends an attempt: with the default five retries
/// and their doubling waits from 1 s, a stalled mirror is given up after
/// at most 6 x 15 s + 31 s of waiting.
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(15);

impl DownloadOptions {
    /// What a record of download_data keeps: what was fetched and from
    /// where (a URL without its query, never a credential).
    pub fn record_options(&self) -> crate::contract::RecordOptions {
        let source = match &self.source {
            Source::Kaggle { api } => format!("kaggle {api}"),
            Source::Url(u) => Url::parse(u).map_or_else(|_| u.clone(), |u| shown(&u)),
            Source::Zip(p) => format!("zip {}", p.display()),
        };
        [
            ("dataset", self.dataset.clone()),
            ("source", source),
            ("files", self.files.join(",")),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect()
    }
}

impl Default for DownloadOptions {
    fn default() -> Self {
        DownloadOptions {
            dataset: DEFAULT_DATASET.to_string(),
            source: Source::Kaggle {
                api: DEFAULT_KAGGLE_API.to_string(),
            },
            files: DEFAULT_FILES.iter().map(|s| s.to_string()).collect(),
            lookup: Lookup::default(),
            force: false,
            retries: 5,
            backoff: Duration::from_secs(1),
            idle_timeout: DEFAULT_IDLE_TIMEOUT,
            max_bytes: DEFAULT_MAX_BYTES,
        }
    }
}

/// What download_data did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DownloadReport {
    /// The archive used.
    pub archive: Option<PathBuf>,
    /// Bytes received over the network in this call.
    pub downloaded_bytes: u64,
    /// Whether a partial download was resumed.
    pub resumed: bool,
    /// Files written into the data path.
    pub extracted: Vec<PathBuf>,
    /// Everything was already there; nothing was done.
    pub already_present: bool,
}

/// File form, as the lab's `download_data(dataset, data_path)`: gets the
/// competition archive and extracts `train.csv` and `asset_details.csv` (or
/// `opts.files`) into `data_path`.
pub fn download_data(
    data_path: &Path,
    opts: &DownloadOptions,
    progress: &dyn Progress,
) -> Result<DownloadReport> {
    check_dataset(&opts.dataset)?;
    for name in &opts.files {
        if !safe_member_name(name) || name.contains('/') {
            return Err(Error::BadArgument(format!(
                "--files: `{name}` is not a plain file name"
            )));
        }
    }
    ensure_writable_dir(data_path)?;
    let targets: Vec<PathBuf> = opts.files.iter().map(|f| data_path.join(f)).collect();
    if !opts.force && targets.iter().all(|p| p.is_file()) {
        progress.log(&format!(
            "download_data: {} already in {}, not downloading (--force does)",
            opts.files.join(", "),
            data_path.display()
        ));
        return Ok(DownloadReport {
            archive: None,
            downloaded_bytes: 0,
            resumed: false,
            extracted: Vec::new(),
            already_present: true,
        });
    }
    let mut report = DownloadReport {
        archive: None,
        downloaded_bytes: 0,
        resumed: false,
        extracted: Vec::new(),
        already_present: false,
    };
    let (archive, ours) = match &opts.source {
        Source::Zip(path) => {
            if !path.is_file() {
                return Err(Error::MissingFile {
                    path: path.clone(),
                    hint: " (--source takes `kaggle`, an http(s) URL or a zip file)".into(),
                });
            }
            (path.clone(), false)
        }
        Source::Kaggle { .. } | Source::Url(_) => {
            let archive = data_path.join(format!("{}.zip", opts.dataset));
            if opts.force {
                let _ = std::fs::remove_file(&archive);
            }
            if archive.is_file() {
                progress.log(&format!("download_data: using {}", archive.display()));
            } else {
                let (url, auth) = remote_start(opts, progress)?;
                progress.log(&format!("download_data: fetching {}", shown(&url)));
                let (bytes, resumed) = download_archive(url, auth, &archive, opts, progress)?;
                report.downloaded_bytes = bytes;
                report.resumed = resumed;
            }
            (archive, true)
        }
    };
    match extract(&archive, &opts.files, data_path) {
        Ok(written) => {
            // New data: the runs made on the files replaced do not compare.
            if !written.is_empty() {
                crate::runs::start_over(data_path)?;
            }
            report.extracted = written;
        }
        Err(e) => {
            let no_room = match &e {
                Error::DiskFull { .. } => true,
                Error::Io { cause, .. } => crate::artifact::is_disk_full(cause),
                _ => false,
            };
            if ours && !no_room {
                // A damaged download must not be trusted by the next run.
                let _ = std::fs::remove_file(&archive);
                return Err(Error::Network(format!(
                    "{e} (removed it; run again to download afresh)"
                )));
            }
            return Err(e);
        }
    }
    report.archive = Some(archive);
    Ok(report)
}

/// Fails unless `dataset` is a Kaggle competition slug: a lowercase letter
/// or digit, then up to 99 more of those or `-`. The name becomes a file
/// name in the data path (`{dataset}.zip`) and a URL path segment, and it is
/// a KFP run parameter: anything else (`../x`, a slash, a space) could
/// reach outside the data path or another URL.
pub fn check_dataset(dataset: &str) -> Result<()> {
    let mut chars = dataset.chars();
    let first_ok = chars
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    let rest_ok = chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if first_ok && rest_ok && dataset.len() <= 100 {
        return Ok(());
    }
    Err(Error::BadArgument(format!(
        "--dataset `{}`: expected a Kaggle competition name (lowercase letters, digits and `-`, \
         starting with a letter or digit, at most 100), e.g. {DEFAULT_DATASET}",
        crate::error::printable(dataset)
    )))
}

/// Where Kaggle's API serves a competition's whole archive (it answers
/// with a redirect to the file, or 403 while the rules are not accepted).
pub fn archive_url(api: &str, dataset: &str) -> String {
    format!(
        "{}/competitions/data/download-all/{dataset}",
        api.trim_end_matches('/')
    )
}

/// The first URL to fetch and, for Kaggle, the credentials and the origin
/// they may be sent to.
fn remote_start(
    opts: &DownloadOptions,
    progress: &dyn Progress,
) -> Result<(Url, Option<(KaggleCredentials, Url)>)> {
    match &opts.source {
        Source::Kaggle { api } => {
            let (creds, warnings) = credentials::require(&opts.lookup)?;
            for w in warnings {
                progress.log(&format!("warning: {w}"));
            }
            progress.log(&format!(
                "download_data: Kaggle credentials from {}",
                creds.origin
            ));
            let url = Url::parse(&archive_url(api, &opts.dataset))
                .map_err(|e| Error::BadArgument(format!("--kaggle-api `{api}`: {e}")))?;
            let origin = url.clone();
            Ok((url, Some((creds, origin))))
        }
        Source::Url(u) => Ok((
            Url::parse(u).map_err(|e| Error::BadArgument(format!("--source `{u}`: {e}")))?,
            None,
        )),
        Source::Zip(p) => Err(Error::Internal(format!(
            "{} is a local archive, not a download",
            p.display()
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sources() {
        assert_eq!(
            Source::parse("kaggle", "http://x/api"),
            Source::Kaggle {
                api: "http://x/api".into()
            }
        );
        assert_eq!(
            Source::parse("https://m/a.zip", ""),
            Source::Url("https://m/a.zip".into())
        );
        assert_eq!(Source::parse("a.zip", ""), Source::Zip("a.zip".into()));
    }
}
