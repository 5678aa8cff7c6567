//! The TrueType font chart text is drawn with: found at run time (no system
//! font library), registered once per process.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use crate::error::{Error, Result};

/// Where chart text comes from when neither environment variable below
/// says otherwise, in order.
const FONT_CANDIDATES: [&str; 4] = [
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/TTF/DejaVuSans.ttf",
    "/usr/share/fonts/dejavu/DejaVuSans.ttf",
    "/Library/Fonts/Arial Unicode.ttf",
];

/// A font file to try before the built-in list.
pub const FONT_ENV: &str = "CRYPTO_LAB_FONT";
/// Font files (separated like PATH) that replace the built-in list; empty
/// means none. For systems that keep fonts elsewhere, and for tests that
/// need a machine without a font.
pub const FONT_SEARCH_ENV: &str = "CRYPTO_LAB_FONT_SEARCH";
/// What to do when no font is found.
pub const FONT_HINT: &str =
    "install fonts-dejavu-core (Debian) or set CRYPTO_LAB_FONT=/path/to/font.ttf";

/// The font files tried for chart text, in order: `font` (the value of
/// [`FONT_ENV`]), then `search` (the value of [`FONT_SEARCH_ENV`]) or, when
/// that is unset, the places Linux distributions and macOS put DejaVu Sans
/// or Arial Unicode.
pub fn font_candidates(font: Option<&str>, search: Option<&str>) -> Vec<PathBuf> {
    let mut paths: Vec<PathBuf> = font
        .filter(|f| !f.is_empty())
        .map(PathBuf::from)
        .into_iter()
        .collect();
    match search {
        Some(list) => {
            paths.extend(std::env::split_paths(list).filter(|p| !p.as_os_str().is_empty()))
        }
        None => paths.extend(FONT_CANDIDATES.iter().map(PathBuf::from)),
    }
    paths
}

/// The candidates named by this process's environment.
fn process_font_candidates() -> Vec<PathBuf> {
    let font = std::env::var(FONT_ENV).ok();
    let search = std::env::var(FONT_SEARCH_ENV).ok();
    font_candidates(font.as_deref(), search.as_deref())
}

/// Whether `bytes` start like a TrueType, OpenType or collection file (the
/// formats ab_glyph reads); a cheap test that skips HTML error pages and
/// empty files without parsing a whole font.
fn looks_like_font(bytes: &[u8]) -> bool {
    matches!(
        bytes.get(..4),
        Some(b"\x00\x01\x00\x00" | b"true" | b"OTTO" | b"ttcf")
    )
}

/// The first of `candidates` that is a readable font file.
pub fn find_font_in(candidates: &[PathBuf]) -> Option<PathBuf> {
    candidates.iter().find(|p| is_font_file(p)).cloned()
}

fn is_font_file(path: &Path) -> bool {
    use std::io::Read;
    let mut head = [0u8; 4];
    std::fs::File::open(path)
        .and_then(|mut f| f.read_exact(&mut head))
        .is_ok_and(|()| looks_like_font(&head))
}

/// Registers a TrueType font for chart text once per process: the first of
/// [`font_candidates`] that loads.
pub fn ensure_font() -> Result<()> {
    static FONT: OnceLock<std::result::Result<(), String>> = OnceLock::new();
    FONT.get_or_init(|| {
        for path in process_font_candidates() {
            let Ok(bytes) = std::fs::read(&path) else {
                continue;
            };
            if !looks_like_font(&bytes) {
                continue;
            }
            let bytes: &'static [u8] = Box::leak(bytes.into_boxed_slice());
            if plotters::style::register_font(
                "sans-serif",
                plotters::style::FontStyle::Normal,
                bytes,
            )
            .is_ok()
            {
                return Ok(());
            }
        }
        Err(format!("no TrueType font for chart text: {FONT_HINT}"))
    })
    .clone()
    .map_err(Error::BadArgument)
}
