//! Argument handling for the per-stage scripts in `scripts/` (rust-script),
//! so each script stays a thin caller of one stage function.

use std::path::PathBuf;

use crate::error::{Error, Result};

/// `--name value` pairs from the command line.
#[derive(Debug, Clone, Default)]
pub struct Args {
    pairs: Vec<(String, String)>,
    flags: Vec<String>,
}

impl Args {
    /// Parses `args` (without the program name). `--name value` pairs and
    /// bare `--switch`es (when followed by another `--` or nothing).
    pub fn parse<I: IntoIterator<Item = String>>(args: I) -> Result<Self> {
        let mut out = Args::default();
        let mut it = args.into_iter().peekable();
        while let Some(a) = it.next() {
            let Some(name) = a.strip_prefix("--") else {
                return Err(Error::BadArgument(format!(
                    "unexpected argument `{a}`: expected --name value"
                )));
            };
            match it.peek() {
                Some(v) if !v.starts_with("--") => {
                    let v = it.next().unwrap_or_default();
                    out.pairs.push((name.to_string(), v));
                }
                _ => out.flags.push(name.to_string()),
            }
        }
        Ok(out)
    }

    /// The process's arguments; `--help` prints `usage` and exits.
    pub fn from_env(usage: &str) -> Result<Self> {
        let args = Self::parse(std::env::args().skip(1))?;
        if args.flag("help") {
            println!("{usage}");
            std::process::exit(0);
        }
        Ok(args)
    }

    /// The value of `--name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The value of `--name`, or `default`.
    pub fn get_or(&self, name: &str, default: &str) -> String {
        self.get(name).unwrap_or(default).to_string()
    }

    /// The value of `--name` parsed, or `default`.
    pub fn parse_or<T: std::str::FromStr>(&self, name: &str, default: T) -> Result<T> {
        match self.get(name) {
            None => Ok(default),
            Some(v) => v
                .parse()
                .map_err(|_| Error::BadArgument(format!("--{name}: cannot use `{v}`"))),
        }
    }

    /// Whether the bare switch `--name` was given.
    pub fn flag(&self, name: &str) -> bool {
        self.flags.iter().any(|f| f == name)
    }

    /// `--data-path` (default `data`), the lab's data_path.
    pub fn data_path(&self) -> PathBuf {
        PathBuf::from(self.get_or("data-path", "data"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairs_and_switches() {
        let a = Args::parse(["--data-path", "d", "--force", "--n", "3"].map(String::from))
            .expect("parse");
        assert_eq!(a.data_path(), PathBuf::from("d"));
        assert!(a.flag("force"));
        assert_eq!(a.parse_or("n", 0usize).expect("n"), 3);
        assert!(a.parse_or::<usize>("data-path", 0).is_err());
        assert!(Args::parse(["oops".to_string()]).is_err());
        assert_eq!(
            Args::parse(Vec::new()).expect("empty").data_path(),
            PathBuf::from("data")
        );
    }
}
