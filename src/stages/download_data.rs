//! Lab cell "Download Data": fetch the competition archive and extract the
//! files the lab uses, natively (no kaggle CLI) and safely.
//!
//! Protocol as the kaggle CLI's REST API: `GET {api}/competitions/data/
//! download-all/{dataset}` with HTTP Basic (or Bearer) auth, which redirects
//! to a signed storage URL. Redirects are followed here, not by the HTTP
//! client, so the Kaggle credentials only ever go to the API's own origin.
//! The archive streams to `{dataset}.zip.part`, resumes with `Range` after a
//! cut, and is renamed to `{dataset}.zip` only when its length checks out.

use std::fs::{File, OpenOptions};
use std::io::{BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use reqwest::blocking::{Client, Response};
use reqwest::header::{CONTENT_RANGE, LOCATION, RANGE};
use reqwest::{StatusCode, Url};

use crate::artifact::{ensure_writable_dir, write_atomic};
use crate::credentials::{self, Auth, Credentials, Lookup};
use crate::error::{Error, Result};
use crate::progress::Progress;
use crate::stages::files;

/// The lab's competition.
pub const DEFAULT_DATASET: &str = "g-research-crypto-forecasting";
/// Kaggle's REST API root.
pub const DEFAULT_KAGGLE_API: &str = "https://www.kaggle.com/api/v1";
/// The archive members the lab extracts.
pub const DEFAULT_FILES: [&str; 2] = [files::TRAIN_CSV, files::ASSET_DETAILS_CSV];
/// Redirects followed at most.
const MAX_REDIRECTS: usize = 10;

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

/// A failure worth another attempt, or one that is final.
enum Attempt {
    Transient(String),
    Fatal(Error),
}

impl From<Error> for Attempt {
    fn from(e: Error) -> Self {
        Attempt::Fatal(e)
    }
}

/// The URL without its query (signed storage URLs carry secrets there).
fn shown(url: &Url) -> String {
    let mut u = url.clone();
    u.set_query(None);
    u.set_fragment(None);
    let _ = u.set_username("");
    let _ = u.set_password(None);
    u.to_string()
}

fn same_origin(a: &Url, b: &Url) -> bool {
    a.scheme() == b.scheme()
        && a.host_str() == b.host_str()
        && a.port_or_known_default() == b.port_or_known_default()
}

/// A member name is safe when it is a plain relative path inside the folder.
fn safe_member_name(name: &str) -> bool {
    !name.is_empty()
        && !name.starts_with('/')
        && !name.starts_with('\\')
        && !name.contains(':')
        && !name.split(['/', '\\']).any(|part| part == "..")
}

struct Fetch<'a> {
    client: Client,
    start: Url,
    /// Credentials and the one origin they may be sent to.
    auth: Option<(Credentials, Url)>,
    dataset: &'a str,
    kaggle: bool,
    part: PathBuf,
    progress: &'a dyn Progress,
}

impl Fetch<'_> {
    fn explain_status(&self, status: StatusCode, url: &Url) -> Attempt {
        let code = status.as_u16();
        if code == 429 || status.is_server_error() {
            return Attempt::Transient(format!("{} answered {status}", shown(url)));
        }
        let origin = self.auth.as_ref().map_or("", |(c, _)| c.origin.as_str());
        let msg = match (self.kaggle, code) {
            (true, 401) => format!(
                "Kaggle rejected the credentials from {origin} (401 Unauthorized): check the username and key, \
                 or create a new token under Settings > API on kaggle.com"
            ),
            (true, 403) => format!(
                "Kaggle refused the download (403 Forbidden): accept the competition's rules at \
                 https://www.kaggle.com/competitions/{}/rules while signed in, then run again",
                self.dataset
            ),
            (true, 404) => format!(
                "no competition `{}` on Kaggle (404 Not Found): check --dataset",
                self.dataset
            ),
            _ => format!("{} answered {status}", shown(url)),
        };
        Attempt::Fatal(Error::BadArgument(msg))
    }

    fn part_len(&self) -> u64 {
        std::fs::metadata(&self.part).map(|m| m.len()).unwrap_or(0)
    }

    /// Sends the request chain (API, then redirects) for bytes from `have` on.
    fn request(&self, have: u64) -> Result<(Response, Url), Attempt> {
        let mut url = self.start.clone();
        for _ in 0..=MAX_REDIRECTS {
            let mut req = self.client.get(url.clone());
            if let Some((creds, origin)) = &self.auth {
                if same_origin(&url, origin) {
                    req = match &creds.auth {
                        Auth::Basic { username, key } => req.basic_auth(username, Some(key)),
                        Auth::Bearer(token) => req.bearer_auth(token),
                    };
                }
            }
            if have > 0 {
                req = req.header(RANGE, format!("bytes={have}-"));
            }
            let resp = req.send().map_err(|e| {
                Attempt::Transient(format!("cannot reach {}: {}", shown(&url), e.without_url()))
            })?;
            if resp.status().is_redirection() {
                let next = resp
                    .headers()
                    .get(LOCATION)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|loc| url.join(loc).ok())
                    .ok_or_else(|| {
                        Attempt::Fatal(Error::BadArgument(format!(
                            "{} redirected without a usable Location",
                            shown(&url)
                        )))
                    })?;
                url = next;
                continue;
            }
            return Ok((resp, url));
        }
        Err(Attempt::Fatal(Error::BadArgument(format!(
            "more than {MAX_REDIRECTS} redirects from {}",
            shown(&self.start)
        ))))
    }

    /// One attempt: fetch what is missing of the archive into the part file.
    fn attempt(&self, received: &mut u64, resumed: &mut bool) -> Result<(), Attempt> {
        let have = self.part_len();
        let (mut resp, url) = self.request(have)?;
        let status = resp.status();
        let (offset, total) = match status {
            StatusCode::OK => (0, resp.content_length()),
            StatusCode::PARTIAL_CONTENT => {
                let range = resp
                    .headers()
                    .get(CONTENT_RANGE)
                    .and_then(|v| v.to_str().ok())
                    .and_then(parse_content_range);
                match range {
                    Some((start, total)) if start == have => {
                        *resumed = true;
                        (have, total)
                    }
                    _ => {
                        let _ = std::fs::remove_file(&self.part);
                        return Err(Attempt::Transient(format!(
                            "{} resumed at the wrong offset; starting over",
                            shown(&url)
                        )));
                    }
                }
            }
            StatusCode::RANGE_NOT_SATISFIABLE => {
                let _ = std::fs::remove_file(&self.part);
                return Err(Attempt::Transient(
                    "the partial download does not fit the archive; starting over".into(),
                ));
            }
            s if !s.is_success() => return Err(self.explain_status(s, &url)),
            s => {
                return Err(Attempt::Fatal(Error::BadArgument(format!(
                    "{} answered {s}, expected the archive",
                    shown(&url)
                ))))
            }
        };
        let mut out = OpenOptions::new()
            .create(true)
            .write(true)
            .append(offset > 0)
            .truncate(offset == 0)
            .open(&self.part)
            .map_err(|e| Error::io(&self.part, "cannot write", e))?;
        let full = total;
        self.progress.start_bytes("download", full.unwrap_or(0));
        self.progress.advance(offset);
        let mut buf = vec![0u8; 1 << 16];
        let mut got = offset;
        loop {
            let n = match resp.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) => {
                    self.progress.finish();
                    return Err(Attempt::Transient(format!(
                        "connection to {} broke after {got} bytes: {e}",
                        shown(&url)
                    )));
                }
            };
            out.write_all(&buf[..n]).map_err(|e| {
                Error::io(&self.part, "cannot write (disk full or not writable?)", e)
            })?;
            got += n as u64;
            *received += n as u64;
            self.progress.advance(n as u64);
        }
        self.progress.finish();
        out.sync_all()
            .map_err(|e| Error::io(&self.part, "cannot write (disk full?)", e))?;
        if let Some(t) = full {
            if got != t {
                return Err(Attempt::Transient(format!(
                    "download from {} ended after {got} of {t} bytes",
                    shown(&url)
                )));
            }
        }
        Ok(())
    }
}

/// `bytes START-END/TOTAL` -> (START, TOTAL).
fn parse_content_range(v: &str) -> Option<(u64, Option<u64>)> {
    let rest = v.trim().strip_prefix("bytes ")?;
    let (range, total) = rest.split_once('/')?;
    let (start, _) = range.split_once('-')?;
    Some((start.trim().parse().ok()?, total.trim().parse().ok()))
}

fn download_archive(
    url: Url,
    auth: Option<(Credentials, Url)>,
    archive: &Path,
    opts: &DownloadOptions,
    progress: &dyn Progress,
) -> Result<(u64, bool)> {
    let client = Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(Duration::from_secs(30))
        .timeout(None)
        .user_agent(concat!("crypto-lab/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| Error::BadArgument(format!("cannot set up HTTP: {e}")))?;
    let part = PathBuf::from(format!("{}.part", archive.display()));
    let fetch = Fetch {
        client,
        start: url,
        auth,
        dataset: &opts.dataset,
        kaggle: matches!(opts.source, Source::Kaggle { .. }),
        part: part.clone(),
        progress,
    };
    let (mut received, mut resumed) = (0u64, false);
    let mut wait = opts.backoff;
    for attempt in 0..=opts.retries {
        match fetch.attempt(&mut received, &mut resumed) {
            Ok(()) => {
                std::fs::rename(&part, archive)
                    .map_err(|e| Error::io(archive, "cannot rename the finished download", e))?;
                return Ok((received, resumed));
            }
            Err(Attempt::Fatal(e)) => return Err(e),
            Err(Attempt::Transient(msg)) if attempt < opts.retries => {
                progress.log(&format!(
                    "download: {msg}; retrying in {:.1}s ({}/{})",
                    wait.as_secs_f64(),
                    attempt + 1,
                    opts.retries
                ));
                std::thread::sleep(wait);
                wait *= 2;
            }
            Err(Attempt::Transient(msg)) => {
                return Err(Error::BadArgument(format!(
                    "download failed after {} attempts: {msg} (the partial file {} is kept; run again to resume)",
                    opts.retries + 1,
                    part.display()
                )))
            }
        }
    }
    Err(Error::Check("download loop ended without a result".into()))
}

/// Extracts `wanted` members of `archive` into `dir`, each through a
/// temporary file; CRCs are checked as the members are read.
pub fn extract(archive: &Path, wanted: &[String], dir: &Path) -> Result<Vec<PathBuf>> {
    let file = File::open(archive).map_err(|e| Error::io(archive, "cannot open", e))?;
    let mut zip = zip::ZipArchive::new(BufReader::new(file)).map_err(|e| {
        Error::bad_input(
            archive,
            format!("not a readable zip archive (corrupt or truncated?): {e}"),
        )
    })?;
    for i in 0..zip.len() {
        let entry = zip
            .by_index_raw(i)
            .map_err(|e| Error::bad_input(archive, format!("entry {i} is unreadable: {e}")))?;
        let name = entry
            .name()
            .map(|n| n.into_owned())
            .unwrap_or_else(|_| format!("#{i}"));
        if !safe_member_name(&name) {
            return Err(Error::bad_input(
                archive,
                format!("refused: entry `{name}` would be written outside the data path"),
            ));
        }
        if entry.is_symlink() {
            return Err(Error::bad_input(
                archive,
                format!("refused: entry `{name}` is a link"),
            ));
        }
    }
    let mut written = Vec::new();
    for name in wanted {
        let idx = zip.index_for_name(name).ok_or_else(|| {
            let members: Vec<String> = zip
                .file_names()
                .filter_map(|n| n.ok())
                .map(|n| n.into_owned())
                .collect();
            Error::bad_input(
                archive,
                format!("has no member `{name}` (members: {})", members.join(", ")),
            )
        })?;
        let mut member = zip
            .by_index(idx)
            .map_err(|e| Error::bad_input(archive, format!("member `{name}`: {e}")))?;
        let target = dir.join(name);
        write_atomic(&target, |out| {
            std::io::copy(&mut member, out).map_err(|e| {
                Error::bad_input(
                    archive,
                    format!("member `{name}` is damaged (corrupt or truncated): {e}"),
                )
            })?;
            Ok(())
        })?;
        written.push(target);
    }
    Ok(written)
}

/// File form, as the lab's `download_data(dataset, data_path)`: gets the
/// competition archive and extracts `train.csv` and `asset_details.csv` (or
/// `opts.files`) into `data_path`.
pub fn download_data(
    data_path: &Path,
    opts: &DownloadOptions,
    progress: &dyn Progress,
) -> Result<DownloadReport> {
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
        Ok(written) => report.extracted = written,
        Err(e) => {
            if ours {
                // A damaged download must not be trusted by the next run.
                let _ = std::fs::remove_file(&archive);
                return Err(Error::Check(format!(
                    "{e} (removed it; run again to download afresh)"
                )));
            }
            return Err(e);
        }
    }
    report.archive = Some(archive);
    Ok(report)
}

/// The first URL to fetch and, for Kaggle, the credentials and the origin
/// they may be sent to.
fn remote_start(
    opts: &DownloadOptions,
    progress: &dyn Progress,
) -> Result<(Url, Option<(Credentials, Url)>)> {
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
            let url = Url::parse(&format!(
                "{}/competitions/data/download-all/{}",
                api.trim_end_matches('/'),
                opts.dataset
            ))
            .map_err(|e| Error::BadArgument(format!("--kaggle-api `{api}`: {e}")))?;
            let origin = url.clone();
            Ok((url, Some((creds, origin))))
        }
        Source::Url(u) => Ok((
            Url::parse(u).map_err(|e| Error::BadArgument(format!("--source `{u}`: {e}")))?,
            None,
        )),
        Source::Zip(p) => Err(Error::Check(format!(
            "{} is a local archive, not a download",
            p.display()
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn member_names() {
        assert!(safe_member_name("train.csv"));
        assert!(safe_member_name("sub/train.csv"));
        for bad in ["../x", "/etc/passwd", "a/../../b", "C:\\x", "\\x", ""] {
            assert!(!safe_member_name(bad), "{bad}");
        }
    }

    #[test]
    fn content_range() {
        assert_eq!(
            parse_content_range("bytes 10-99/100"),
            Some((10, Some(100)))
        );
        assert_eq!(parse_content_range("bytes 10-99/*"), Some((10, None)));
        assert_eq!(parse_content_range("items 1-2/3"), None);
    }

    #[test]
    fn shown_urls_hide_queries_and_passwords() {
        let u = Url::parse("https://user:pw@storage.example/a.zip?X-Goog-Signature=secret")
            .expect("url");
        assert_eq!(shown(&u), "https://storage.example/a.zip");
    }

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
