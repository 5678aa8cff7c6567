//! The resumable HTTP download: the request chain (API, then redirects
//! followed here so credentials only go to the API's origin), `Range`
//! resumes into `<archive>.part`, retries with doubling waits, and messages
//! that name what to fix without showing a secret.

use std::fs::OpenOptions;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use reqwest::blocking::{Client, Response};
use reqwest::header::{CONTENT_RANGE, LOCATION, RANGE};
use reqwest::{StatusCode, Url};

use super::{DownloadOptions, Source};
use crate::credentials::KaggleCredentials;
use crate::error::{Error, Result};
use crate::progress::Progress;

/// Redirects followed at most.
const MAX_REDIRECTS: usize = 10;

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
pub(super) fn shown(url: &Url) -> String {
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

struct Fetch<'a> {
    client: Client,
    start: Url,
    /// KaggleCredentials and the one origin they may be sent to.
    auth: Option<(KaggleCredentials, Url)>,
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
                    req = creds.auth.apply(req);
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

pub(super) fn download_archive(
    url: Url,
    auth: Option<(KaggleCredentials, Url)>,
    archive: &Path,
    opts: &DownloadOptions,
    progress: &dyn Progress,
) -> Result<(u64, bool)> {
    let client = Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(Duration::from_secs(30))
        .timeout(None)
        .user_agent(crate::version::USER_AGENT)
        .build()
        .map_err(|e| Error::Internal(format!("cannot set up HTTP: {e}")))?;
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
                return Err(Error::Network(format!(
                    "download failed after {} attempts: {msg} (the partial file {} is kept; run again to resume)",
                    opts.retries + 1,
                    part.display()
                )))
            }
        }
    }
    Err(Error::Internal(
        "download loop ended without a result".into(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
