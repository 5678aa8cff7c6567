//! The resumable HTTP download: the request chain (API, then redirects
//! followed here so credentials only go to the API's origin, never from
//! https down to http), `Range` resumes into `<archive>.part` guarded by
//! `If-Range` (a changed remote file starts over instead of being
//! spliced), an idle timeout per read, a byte cap and a free-space check,
//! retries with doubling waits, and messages that name what to fix without
//! showing a secret.

use std::fs::OpenOptions;
use std::io::{Read, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use reqwest::blocking::{Client, Response};
use reqwest::header::{CONTENT_RANGE, ETAG, IF_RANGE, LAST_MODIFIED, LOCATION, RANGE};
use reqwest::{StatusCode, Url};

use super::credentials::KaggleCredentials;
use super::{DownloadOptions, Source};
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
    /// Beside the part file: the ETag or Last-Modified it was fetched
    /// under, sent as `If-Range` on a resume.
    validator: PathBuf,
    max_bytes: u64,
    progress: &'a dyn Progress,
}

/// The saved validator: read without following a link, at most 512 bytes,
/// and only if it looks like one (an ETag or an HTTP date: printable ASCII),
/// since it is sent as a header to every hop.
fn read_validator(path: &Path) -> Option<String> {
    let file = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW)
        .open(path)
        .ok()?;
    let mut text = String::new();
    file.take(512).read_to_string(&mut text).ok()?;
    let v = text.trim();
    let ok = !v.is_empty() && v.len() < 512 && v.bytes().all(|b| (0x20..0x7f).contains(&b));
    ok.then(|| v.to_string())
}

/// Whether `url` names this machine (where plain http stays on it).
fn is_loopback(url: &Url) -> bool {
    let host = url.host_str().unwrap_or("");
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host == "localhost"
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// The validator of a response: a strong ETag, else Last-Modified (a weak
/// ETag cannot guard a byte range).
fn validator_of(resp: &Response) -> Option<String> {
    let header = |name| resp.headers().get(name).and_then(|v| v.to_str().ok());
    header(ETAG)
        .filter(|e| !e.starts_with("W/"))
        .or_else(|| header(LAST_MODIFIED))
        .filter(|v| v.len() < 512 && !v.contains(['\r', '\n']))
        .map(str::to_string)
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

    /// The bytes already fetched and what they were fetched under; a part
    /// file without a validator is not resumed (it could be of another
    /// file), so it counts as nothing.
    fn resume_from(&self) -> (u64, Option<String>) {
        let have = std::fs::symlink_metadata(&self.part)
            .ok()
            .filter(|m| m.is_file())
            .map_or(0, |m| m.len());
        let validator = read_validator(&self.validator);
        match validator {
            Some(v) if have > 0 => (have, Some(v)),
            _ => (0, None),
        }
    }

    /// Sends the request chain (API, then redirects) for bytes from `have`
    /// on, if the file is still the one `validator` names.
    fn request(&self, have: u64, validator: Option<&str>) -> Result<(Response, Url), Attempt> {
        let mut url = self.start.clone();
        for _ in 0..=MAX_REDIRECTS {
            let mut req = self.client.get(url.clone());
            if let Some((creds, origin)) = &self.auth {
                if same_origin(&url, origin) {
                    req = creds.auth.apply(req);
                }
            }
            if let (true, Some(v)) = (have > 0, validator) {
                req = req
                    .header(RANGE, format!("bytes={have}-"))
                    .header(IF_RANGE, v);
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
                if url.scheme() == "https" && next.scheme() != "https" {
                    return Err(Attempt::Fatal(Error::BadArgument(format!(
                        "{} redirected from https to {}: refused, the archive would travel \
                         unprotected (and could be altered on the way)",
                        shown(&url),
                        shown(&next)
                    ))));
                }
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
        let (have, validator) = self.resume_from();
        let (mut resp, url) = self.request(have, validator.as_deref())?;
        let status = resp.status();
        let (offset, total) = match status {
            // A fresh start, or the remote file changed since the part file
            // was fetched (If-Range answered with the whole file).
            StatusCode::OK => {
                let _ = std::fs::remove_file(&self.validator);
                if let Some(v) = validator_of(&resp) {
                    std::fs::write(&self.validator, &v)
                        .map_err(|e| Error::io(&self.validator, "cannot write", e))?;
                }
                (0, resp.content_length())
            }
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
        if let Some(t) = total.filter(|t| *t > self.max_bytes) {
            return Err(Attempt::Fatal(Error::BadArgument(format!(
                "{} offers {t} bytes, more than --max-bytes {}: refused (raise --max-bytes \
                 if this archive is right)",
                shown(&url),
                self.max_bytes
            ))));
        }
        let dir = self.part.parent().unwrap_or(Path::new("."));
        if let (Some(t), Some(free)) = (total, crate::artifact::free_bytes(dir)) {
            let needed = t.saturating_sub(offset);
            // A fresh start truncates the part file: its bytes count as free.
            let free = if offset == 0 {
                free.saturating_add(std::fs::symlink_metadata(&self.part).map_or(0, |m| m.len()))
            } else {
                free
            };
            if needed > free {
                return Err(Attempt::Fatal(Error::BadArgument(format!(
                    "{} is {t} bytes; {needed} more do not fit in {} ({free} bytes free)",
                    shown(&url),
                    dir.display()
                ))));
            }
        }
        // Not through a link planted where the part file goes.
        let mut out = OpenOptions::new()
            .create(true)
            .write(true)
            .append(offset > 0)
            .truncate(offset == 0)
            .custom_flags(libc::O_NOFOLLOW)
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
                    // reqwest wraps its per-read timeout as a body error.
                    let timed_out = e.kind() == std::io::ErrorKind::TimedOut
                        || e.get_ref()
                            .and_then(|r| r.downcast_ref::<reqwest::Error>())
                            .is_some_and(reqwest::Error::is_timeout);
                    let why = if timed_out {
                        "no byte arrived within the idle timeout".to_string()
                    } else {
                        crate::error::printable(&e.to_string())
                    };
                    return Err(Attempt::Transient(format!(
                        "connection to {} broke after {got} bytes: {why}",
                        shown(&url)
                    )));
                }
            };
            out.write_all(&buf[..n]).map_err(|e| {
                Error::io(&self.part, "cannot write (disk full or not writable?)", e)
            })?;
            got += n as u64;
            *received += n as u64;
            if got > self.max_bytes {
                self.progress.finish();
                drop(out);
                let _ = std::fs::remove_file(&self.part);
                return Err(Attempt::Fatal(Error::BadArgument(format!(
                    "{} sent more than --max-bytes {} bytes: refused",
                    shown(&url),
                    self.max_bytes
                ))));
            }
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
    // Credentials over plain http are readable on every hop: only to this
    // machine (a loopback mirror, the tests' stand-in for Kaggle).
    if let Some((_, origin)) = &auth {
        if origin.scheme() != "https" && !is_loopback(origin) {
            return Err(Error::BadArgument(format!(
                "refusing to send Kaggle credentials over plain http to {}: use an https \
                 --kaggle-api (http is allowed only to this machine)",
                shown(origin)
            )));
        }
    }
    // In blocking reqwest this bounds the wait for the headers and each
    // read of the body: an idle timeout, not a cap on the whole download.
    let client = Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(Duration::from_secs(30))
        .timeout(opts.idle_timeout)
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
        validator: PathBuf::from(format!("{}.part.validator", archive.display())),
        max_bytes: opts.max_bytes,
        progress,
    };
    let (mut received, mut resumed) = (0u64, false);
    let mut wait = opts.backoff;
    // Failed attempts in a row: an attempt that brought a good share of the
    // archive before it broke starts the count (and the waits) afresh, so a
    // slow mirror that stalls now and then still finishes.
    let mut failed = 0u32;
    loop {
        let before = received;
        match fetch.attempt(&mut received, &mut resumed) {
            Ok(()) => {
                std::fs::rename(&part, archive)
                    .map_err(|e| Error::io(archive, "cannot rename the finished download", e))?;
                let _ = std::fs::remove_file(&fetch.validator);
                return Ok((received, resumed));
            }
            Err(Attempt::Fatal(e)) => return Err(e),
            Err(Attempt::Transient(msg)) => {
                if received - before >= PROGRESS_RESETS_RETRIES {
                    failed = 0;
                    wait = opts.backoff;
                }
                if failed >= opts.retries {
                    return Err(Error::Network(format!(
                        "download failed after {} attempts: {msg} (the partial file {} is kept; run again to resume)",
                        failed + 1,
                        part.display()
                    )));
                }
                failed += 1;
                progress.log(&format!(
                    "download: {msg}; retrying in {:.1}s ({failed}/{})",
                    wait.as_secs_f64(),
                    opts.retries
                ));
                std::thread::sleep(wait);
                wait *= 2;
            }
        }
    }
}

/// Bytes an attempt must bring before its failure resets the retry count.
const PROGRESS_RESETS_RETRIES: u64 = 16 << 20;

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
