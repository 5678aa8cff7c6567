//! LightGBM's own parameter names: what `--param KEY=VALUE` and the model
//! flags are checked against before any data is read (the training loop
//! itself is modeling's, `stages/modeling/lgbm.rs`). Here, beside the lab's
//! parameters, because the command line checks them before a stage runs.

use std::ffi::{CStr, CString};

use lightgbm3_sys as sys;

use crate::error::{Error, Result};

/// LightGBM's last error as the crate's, when `code` is not 0.
pub(crate) fn check(code: i32) -> Result<()> {
    if code == 0 {
        return Ok(());
    }
    // SAFETY: LightGBM returns a pointer to a thread-local NUL-terminated message.
    let msg = unsafe { CStr::from_ptr(sys::LGBM_GetLastError()) };
    Err(Error::LightGbm(msg.to_string_lossy().into_owned()))
}

/// `s` as a C string for LightGBM (a NUL byte is the caller's error).
pub(crate) fn cstring(s: &str) -> Result<CString> {
    CString::new(s).map_err(|_| Error::BadArgument(format!("NUL byte in LightGBM text `{s}`")))
}

/// LightGBM's parameter names and aliases, each mapped to the parameter's
/// own name, as `LGBM_DumpParamAliases` lists them.
pub fn parameter_names() -> Result<&'static std::collections::BTreeMap<String, String>> {
    use std::collections::BTreeMap;
    use std::sync::OnceLock;
    static NAMES: OnceLock<std::result::Result<BTreeMap<String, String>, String>> = OnceLock::new();
    let names = NAMES.get_or_init(|| {
        let mut len = 0i64;
        let mut buf = vec![0u8; 1 << 16];
        loop {
            // SAFETY: `buf` has `buf.len()` bytes; LightGBM writes only when
            // the dump fits, and says how long it is.
            check(unsafe {
                sys::LGBM_DumpParamAliases(buf.len() as i64, &mut len, buf.as_mut_ptr().cast())
            })
            .map_err(|e| e.to_string())?;
            if (len as usize) <= buf.len() {
                break;
            }
            buf.resize(len as usize, 0);
        }
        let text = CStr::from_bytes_until_nul(&buf)
            .map_err(|e| e.to_string())?
            .to_string_lossy();
        let dump: BTreeMap<String, Vec<String>> =
            serde_json::from_str(&text).map_err(|e| e.to_string())?;
        let mut names = BTreeMap::new();
        for (name, aliases) in dump {
            for alias in aliases {
                names.insert(alias, name.clone());
            }
            names.insert(name.clone(), name);
        }
        Ok(names)
    });
    names
        .as_ref()
        .map_err(|e| Error::LightGbm(format!("cannot list parameters: {e}")))
}

/// LightGBM's own name of parameter `name` (an alias or the name itself);
/// an unknown name is an error suggesting the nearest known one.
pub fn canonical_param(name: &str) -> Result<String> {
    let names = parameter_names()?;
    if let Some(canonical) = names.get(name) {
        return Ok(canonical.clone());
    }
    let nearest = names
        .keys()
        .map(|k| (strsim::levenshtein(name, k), k))
        .min()
        // Close enough to be a typo: a third of the name, at least one edit.
        .filter(|(d, _)| *d <= (name.chars().count() / 3).max(1));
    Err(Error::UnknownParameter {
        name: crate::error::printable(name),
        // An alias is named by its parameter: `num_leafs` -> `num_leaves`.
        suggestion: nearest
            .map(|(_, k)| format!(", did you mean `{}`?", names[k]))
            .unwrap_or_else(|| " (see LightGBM's parameter list)".into()),
    })
}

/// Has LightGBM read a parameter string as it would for training: a value
/// it rejects (`learning_rate=abc`) is its own one-line error, before any
/// data is read.
pub fn check_params(params: &str) -> Result<()> {
    let cparams = cstring(params)?;
    let mut count = 0;
    // SAFETY: valid C string and out pointer; LightGBM parses the whole
    // configuration to size its bin sample.
    check(unsafe { sys::LGBM_GetSampleCount(1, cparams.as_ptr(), &mut count) })
}

#[cfg(test)]
mod param_tests {
    use super::*;

    #[test]
    fn aliases_resolve_and_typos_get_a_suggestion() {
        assert_eq!(canonical_param("eta").unwrap(), "learning_rate");
        assert_eq!(canonical_param("num_leaves").unwrap(), "num_leaves");
        assert_eq!(canonical_param("n_estimators").unwrap(), "num_iterations");
        let e = canonical_param("num_leafs").unwrap_err().to_string();
        assert!(e.contains("did you mean `num_leaves`"), "{e}");
    }

    #[test]
    fn lightgbm_rejects_a_bad_value() {
        assert!(check_params("learning_rate=0.1").is_ok());
        assert!(check_params("max_bin=abc").is_err());
    }
}
