//! Rust lightweight components: a notebook's edited `get_features` or feval
//! shipped inside the component of the step that calls it, as kfp embeds a
//! lightweight Python component's source.
//!
//! The embedded program is the stage's script (the form of
//! `scripts/<stage>.rs`) with the edited function in it and handed to the
//! stage ([`crate::args::Script::with_get_features`]); the step writes it to a
//! file and runs `crypto-lab run-script` in the dev image
//! ([`crate::kfp::runtime::script`]). Steps that call no edited function keep
//! the slim image and its plain `crypto-lab <stage>` command.

use crate::error::{printable, Error, Result};
use crate::kfp::runtime::script::DEV_SOURCE;
use crate::stages::Stage;

/// One edited function: the name the stage calls it by and its source, with
/// the source of the notebook's functions it calls.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EditedFunction {
    /// The function the stage calls (`get_features_rsi15`).
    pub name: String,
    /// Its text and that of the functions it calls, as the notebook's kernel
    /// compiled them (or as a file holds them).
    pub source: String,
}

/// The notebook's functions that replace the crate's in the pipeline.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EditedCode {
    /// feature_engineering's `get_features`.
    pub get_features: Option<EditedFunction>,
    /// modeling's feval (the lab's `weighted_correlation`).
    pub feval: Option<EditedFunction>,
}

/// The step that calls each function, with the [`crate::args::Script`]
/// method that hands it over and the stage's flags type.
struct Caller {
    stage: &'static str,
    method: &'static str,
    args: &'static str,
}

const GET_FEATURES_CALLER: Caller = Caller {
    stage: "feature_engineering",
    method: "with_get_features",
    args: "FeatureEngineeringArgs",
};

const FEVAL_CALLER: Caller = Caller {
    stage: "modeling",
    method: "with_feval",
    args: "ModelingArgs",
};

impl EditedCode {
    /// Whether no function is edited (every step runs the crate's).
    pub fn is_empty(&self) -> bool {
        self.get_features.is_none() && self.feval.is_none()
    }

    /// The edited function `stage` calls, if any.
    pub fn for_stage(&self, stage: &Stage) -> Option<&EditedFunction> {
        self.caller(stage).map(|(f, _)| f)
    }

    fn caller(&self, stage: &Stage) -> Option<(&EditedFunction, &'static Caller)> {
        [
            (&self.get_features, &GET_FEATURES_CALLER),
            (&self.feval, &FEVAL_CALLER),
        ]
        .into_iter()
        .find(|(_, c)| c.stage == stage.name)
        .and_then(|(f, c)| f.as_ref().map(|f| (f, c)))
    }

    /// Fails unless each function's name is a Rust identifier that its
    /// source defines.
    pub fn validate(&self) -> Result<()> {
        for (what, f) in [("get_features", &self.get_features), ("feval", &self.feval)] {
            let Some(f) = f else { continue };
            let ident = !f.name.is_empty()
                && f.name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_')
                && !f.name.starts_with(|c: char| c.is_ascii_digit());
            if !ident {
                return Err(Error::BadArgument(format!(
                    "{what}: `{}` is not a Rust function name",
                    printable(&f.name)
                )));
            }
            if f.source.contains("{{$") {
                // KFP's launcher replaces its placeholders in every word of
                // the command, the embedded program included.
                return Err(Error::BadArgument(format!(
                    "{what}: the source holds `{{{{$`, which KFP would replace as one of its \
                     placeholders; write it another way (\"{{{{\" then \"$\")"
                )));
            }
            if !defines(&f.source, &f.name) {
                return Err(Error::BadArgument(format!(
                    "{what}: the source given does not define `fn {}`",
                    f.name
                )));
            }
        }
        Ok(())
    }

    /// The program `stage`'s step runs when it calls an edited function:
    /// its script with the function in it.
    pub fn script(&self, stage: &Stage) -> Option<String> {
        let (f, Caller { method, args, .. }) = self.caller(stage)?;
        Some(format!(
            "//! Lab stage {stage} with the notebook's `{name}`: a Rust lightweight component's \
             program,\n\
             //! exported by crypto-lab {version}; `crypto-lab run-script` builds it against the \
             crate and runs it.\n\
             //! ```cargo\n\
             //! [package]\n\
             //! edition = \"2021\"\n\
             //!\n\
             //! [dependencies]\n\
             //! crypto-lab = {{ path = \"{DEV_SOURCE}\" }}\n\
             //! ```\n\
             #![allow(unused_imports, dead_code)]\n\
             \n\
             use crypto_lab::args::{{{args}, Script}};\n\
             use crypto_lab::plots::Chart;\n\
             use crypto_lab::prelude::*;\n\
             use std::path::PathBuf;\n\
             use std::time::Instant;\n\
             \n\
             {source}\n\
             \n\
             fn main() -> std::process::ExitCode {{\n    \
             Script::<{args}>::from_env()\n        \
             .{method}(\"{name}\", {name})\n        \
             .main()\n\
             }}\n",
            stage = stage.name,
            name = f.name,
            version = crate::version::VERSION,
            source = f.source.trim_end(),
        ))
    }
}

/// One function from a file a user edits outside the notebook
/// (`export-kfp --get-features FILE[:NAME]`): `fn NAME` and the functions of
/// the file it calls; NAME is `default` unless given after the last `:`.
pub fn function_from_file(spec: &str, default: &str) -> Result<EditedFunction> {
    let (file, name) = match spec.rsplit_once(':') {
        Some((f, n)) if !n.is_empty() && n.chars().all(|c| c.is_alphanumeric() || c == '_') => {
            (f, n)
        }
        _ => (spec, default),
    };
    let path = std::path::Path::new(file);
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, "cannot read", e))?;
    let source = function_with_callees(&text, name).ok_or_else(|| {
        Error::BadArgument(format!(
            "{}: defines no `fn {name}` (give FILE:NAME for another function's name)",
            path.display()
        ))
    })?;
    Ok(EditedFunction {
        name: name.to_string(),
        source,
    })
}

/// Builds every edited step's program of `code` against the crate in
/// `source` (a checkout whose `target/` is built), as the dev image will:
/// a function that does not compile is caught here, not on the cluster.
/// Returns each step with the seconds its build took.
pub fn check_builds(code: &EditedCode, source: &std::path::Path) -> Result<Vec<(String, f64)>> {
    // A folder of its own, made here (create_dir, not create_dir_all: one
    // planted beforehand fails instead of being used).
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let dir = std::env::temp_dir().join(format!(
        "crypto-lab-check-{}-{nanos:09}",
        std::process::id()
    ));
    std::fs::create_dir(&dir).map_err(|e| Error::io(&dir, "cannot create", e))?;
    let result = build_each(code, source, &dir);
    let _ = std::fs::remove_dir_all(&dir);
    result
}

fn build_each(
    code: &EditedCode,
    source: &std::path::Path,
    dir: &std::path::Path,
) -> Result<Vec<(String, f64)>> {
    let mut done = Vec::new();
    for stage in crate::stages::STAGES {
        let Some(program) = code.script(stage) else {
            continue;
        };
        let file = dir.join(format!("{}.rs", stage.name));
        std::fs::write(&file, program).map_err(|e| Error::io(&file, "cannot write", e))?;
        let built = crate::kfp::runtime::script::build_script(&file, source)?;
        done.push((stage.command.to_string(), built.seconds));
    }
    Ok(done)
}

/// What each step of `opts`'s pipeline runs, in words, for the notebook's
/// export cell and `export-kfp`: the steps with an edited function and the
/// image they run in, or that every step runs the crate's.
pub fn describe(opts: &super::ExportOptions) -> Vec<String> {
    let lines: Vec<String> = opts
        .stages()
        .into_iter()
        .filter_map(|s| {
            opts.code.for_stage(s).map(|f| {
                format!(
                    "{} runs your `{}` in {} (built there first)",
                    s.command, f.name, opts.dev_image
                )
            })
        })
        .collect();
    if lines.is_empty() {
        vec![format!(
            "every step runs the crate's functions in {}",
            opts.image
        )]
    } else {
        let mut lines = lines;
        lines.push("(v1/pipeline.yaml, for KFP 1.x, runs the crate's functions)".into());
        lines
    }
}

/// Whether `source` defines `fn name`.
fn defines(source: &str, name: &str) -> bool {
    source.lines().any(|l| defined_on(l) == Some(name))
}

/// The free function a line defines, if it does: `fn NAME(` or `fn NAME<`
/// at the line's start, after visibility (`pub`, `pub(crate)`, ...) and
/// qualifiers (`const`, `async`, `unsafe`, `extern "C"`). An indented `fn`
/// is a method or a nested function (the kernel's own `VariableStore::new`,
/// say), never one a cell defines.
fn defined_on(line: &str) -> Option<&str> {
    if line.starts_with(char::is_whitespace) {
        return None;
    }
    let mut rest = line;
    if let Some(r) = rest.strip_prefix("pub") {
        rest = match r.strip_prefix('(') {
            Some(inner) => inner.split_once(')')?.1,
            None => r,
        }
        .trim_start();
    }
    loop {
        let before = rest;
        for q in ["const ", "async ", "unsafe "] {
            rest = rest.strip_prefix(q).unwrap_or(rest).trim_start();
        }
        if let Some(r) = rest.strip_prefix("extern ") {
            let r = r.trim_start();
            rest = match r.strip_prefix('"') {
                Some(abi) => abi.split_once('"')?.1.trim_start(),
                None => r,
            };
        }
        if rest == before {
            break;
        }
    }
    let name = rest.strip_prefix("fn ")?.trim_start();
    let end = name.find(|c: char| !(c.is_alphanumeric() || c == '_'))?;
    name[end..]
        .trim_start()
        .starts_with(['(', '<'])
        .then(|| &name[..end])
}

/// The names of the functions `source` defines.
fn defined_functions(source: &str) -> Vec<String> {
    source
        .lines()
        .filter_map(defined_on)
        .map(String::from)
        .collect()
}

/// The text of `fn name` in `source` (its doc comments and attributes
/// included), up to its closing brace; strings (raw ones too), characters
/// and comments are skipped when counting braces, and braces in the
/// signature (a const generic's) are not the body's.
pub fn function_text(source: &str, name: &str) -> Option<String> {
    // Each line with the byte offset it starts at (CRLF or LF).
    let mut starts = vec![0];
    starts.extend(source.match_indices('\n').map(|(i, _)| i + 1));
    let line = |i: usize| {
        let end = starts.get(i + 1).copied().unwrap_or(source.len());
        source[starts[i]..end].trim_end_matches(['\n', '\r'])
    };
    let count = starts.len();
    let at = (0..count).find(|&i| defined_on(line(i)) == Some(name))?;
    let mut first = at;
    while first > 0 {
        let prev = line(first - 1).trim_start();
        if prev.starts_with("///") || prev.starts_with("#[") {
            first -= 1;
        } else {
            break;
        }
    }
    let body = &source[starts[at]..];
    let bytes = body.as_bytes();
    let (mut depth, mut nesting, mut i, mut opened) = (0usize, 0usize, 0usize, false);
    while i < bytes.len() {
        match bytes[i] {
            b'/' if bytes.get(i + 1) == Some(&b'/') => {
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
            }
            b'/' if bytes.get(i + 1) == Some(&b'*') => {
                i += 2;
                while i + 1 < bytes.len() && !(bytes[i] == b'*' && bytes[i + 1] == b'/') {
                    i += 1;
                }
                i += 1;
            }
            // A raw string: r"..." or r#"..."#, no escapes inside.
            b'r' if matches!(bytes.get(i + 1), Some(b'"' | b'#'))
                && (i == 0 || !(bytes[i - 1].is_ascii_alphanumeric() || bytes[i - 1] == b'_')) =>
            {
                let hashes = bytes[i + 1..].iter().take_while(|&&b| b == b'#').count();
                if bytes.get(i + 1 + hashes) == Some(&b'"') {
                    let close: Vec<u8> = std::iter::once(b'"')
                        .chain(std::iter::repeat_n(b'#', hashes))
                        .collect();
                    let from = i + 2 + hashes;
                    let end = bytes[from..]
                        .windows(close.len())
                        .position(|w| w == close.as_slice())?;
                    i = from + end + close.len() - 1;
                }
            }
            b'"' => {
                i += 1;
                while i < bytes.len() && bytes[i] != b'"' {
                    if bytes[i] == b'\\' {
                        i += 1;
                    }
                    i += 1;
                }
            }
            // A character literal ('x', '\n'); a lifetime ('a) is left alone.
            b'\'' if bytes.get(i + 2) == Some(&b'\'') || bytes.get(i + 1) == Some(&b'\\') => {
                i += 1;
                while i < bytes.len() && bytes[i] != b'\'' {
                    if bytes[i] == b'\\' {
                        i += 1;
                    }
                    i += 1;
                }
            }
            // The signature's brackets: a brace inside them is a type's.
            b'(' | b'[' if !opened => nesting += 1,
            b')' | b']' if !opened => nesting = nesting.saturating_sub(1),
            b'{' if opened || nesting == 0 => {
                depth += 1;
                opened = true;
            }
            b'}' if opened => {
                depth = depth.checked_sub(1)?;
                if depth == 0 {
                    return Some(source[starts[first]..starts[at] + i + 1].to_string());
                }
            }
            _ => {}
        }
        i += 1;
    }
    None
}

/// `fn name`'s text with that of every other function of `source` it
/// calls, directly or not (a notebook's `get_features_rsi15` brings the
/// notebook's `get_features`).
pub fn function_with_callees(source: &str, name: &str) -> Option<String> {
    let defined = defined_functions(source);
    let mut taken = vec![name.to_string()];
    let mut texts = vec![function_text(source, name)?];
    let mut i = 0;
    while i < texts.len() {
        let calls: Vec<String> = defined
            .iter()
            .filter(|d| !taken.contains(d) && calls_function(&texts[i], d))
            .cloned()
            .collect();
        for callee in calls {
            if let Some(t) = function_text(source, &callee) {
                taken.push(callee);
                texts.push(t);
            }
        }
        i += 1;
    }
    Some(texts.join("\n\n"))
}

/// Whether `text` names function `name` as a whole word before `(` or as a
/// value (`, name)`).
fn calls_function(text: &str, name: &str) -> bool {
    text.match_indices(name).any(|(at, _)| {
        let before = text[..at].chars().next_back();
        let after = text[at + name.len()..].chars().next();
        let word = |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric() || c == '_');
        !word(before) && !word(after) && !text[..at].ends_with("fn ")
    })
}

/// The shell program a step with an edited function runs: it writes the
/// program given as its first argument to a file and hands that to
/// `crypto-lab run-script` with the stage's arguments (kfp's lightweight
/// components write their source the same way).
pub fn runner(stage: &Stage) -> String {
    format!(
        "dir=$(mktemp -d)\nprintf '%s' \"$0\" > \"$dir/{name}.rs\"\nexec crypto-lab run-script \
         \"$dir/{name}.rs\" \"$@\"\n",
        name = stage.name
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stages::{FEATURE_ENGINEERING, LOAD_DATA, MODELING};

    fn rsi15() -> EditedFunction {
        EditedFunction {
            name: "get_features_rsi15".into(),
            source:
                "fn get_features_rsi15(bars: &AssetBars, opts: &FeatureOptions) -> Features {\n    \
                     get_features(bars, opts)\n}"
                    .into(),
        }
    }

    #[test]
    fn only_the_calling_step_gets_a_program_and_it_hands_the_function_over() {
        let code = EditedCode {
            get_features: Some(rsi15()),
            feval: None,
        };
        assert!(code.validate().is_ok());
        assert!(code.script(&LOAD_DATA).is_none() && code.script(&MODELING).is_none());
        let script = code.script(&FEATURE_ENGINEERING).expect("script");
        assert!(script.contains("crypto-lab = { path = \"/opt/crypto-lab\" }"));
        assert!(script.contains(".with_get_features(\"get_features_rsi15\", get_features_rsi15)"));
        assert!(script.contains("Script::<FeatureEngineeringArgs>::from_env()"));
    }

    #[test]
    fn functions_are_found_in_any_form_and_taken_whole() {
        let source = "use x::*;\r\n/// Doc.\r\npub(crate) const fn f<const N: usize>(a: [u8; { N }]) -> u8 {\r\n    \
                      let s = r#\"}\"{\"#;\r\n    let c = '{';\r\n    g(a[0])\r\n}\r\nfn g(x: u8) -> u8 { x }\r\n\
                      fn unused() {}\r\n";
        assert_eq!(defined_functions(source), ["f", "g", "unused"]);
        let f = function_text(source, "f").expect("f");
        assert!(f.starts_with("/// Doc.\r\npub(crate) const fn f<"), "{f}");
        assert!(f.ends_with("g(a[0])\r\n}"), "{f}");
        let all = function_with_callees(source, "f").expect("f and g");
        assert!(
            all.contains("fn g(x: u8) -> u8 { x }") && !all.contains("unused"),
            "{all}"
        );
        assert!(function_text("fn é() {}\nfn h() { \"ü\" }", "h").is_some());
        // A method of the kernel's own (indented) is no function of the cells.
        let kernel = "fn a() -> X { X::new() }\nimpl X {\n    pub fn new() -> X { X }\n}\n";
        assert_eq!(
            function_with_callees(kernel, "a").as_deref(),
            Some("fn a() -> X { X::new() }")
        );
    }

    #[test]
    fn a_placeholder_in_the_source_is_refused() {
        let mut f = rsi15();
        f.source = f.source.replace(
            "get_features(bars, opts)",
            "{ let _ = \"{{$}}\"; get_features(bars, opts) }",
        );
        let code = EditedCode {
            get_features: Some(f),
            feval: None,
        };
        let err = code.validate().expect_err("placeholder");
        assert!(err.to_string().contains("placeholder"), "{err}");
    }

    #[test]
    fn a_name_the_source_does_not_define_is_refused() {
        let mut f = rsi15();
        f.name = "get_features_rsi30".into();
        let code = EditedCode {
            get_features: Some(f),
            feval: None,
        };
        assert!(code.validate().is_err());
        let bad = EditedCode {
            get_features: None,
            feval: Some(EditedFunction {
                name: "x; rm -rf /".into(),
                source: String::new(),
            }),
        };
        assert!(bad.validate().is_err());
    }
}
