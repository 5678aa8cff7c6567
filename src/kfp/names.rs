//! Checks for the values a user's flags put into Kubernetes objects (the
//! exported YAML, the API requests of `submit`): each is refused with what
//! was expected before anything is written or sent, so no flag can carry a
//! newline into YAML or reach a driver that panics on it (KFP's driver
//! calls `resource.MustParse` on the claim's size).

use crate::error::printable;

/// A Kubernetes resource quantity for a volume size (`16Gi`, `500M`,
/// `1e9`): a positive decimal number and one suffix of Kubernetes'
/// grammar (`k8s.io/apimachinery/pkg/api/resource`).
pub fn volume_size(s: &str) -> Result<(), String> {
    let bad = |why: &str| {
        Err(format!(
            "`{}`: {why}; expected a Kubernetes quantity such as 16Gi (binary suffixes Ki Mi Gi \
             Ti Pi Ei, decimal k M G T P E)",
            printable(s)
        ))
    };
    let number_end = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    let (number, suffix) = s.split_at(number_end);
    let digits = number.replace('.', "");
    if number.is_empty() || digits.is_empty() || number.matches('.').count() > 1 {
        return bad("no number first");
    }
    if digits.bytes().all(|b| b == b'0') {
        return bad("a volume needs a size above zero");
    }
    let exponent = suffix
        .strip_prefix(['e', 'E'])
        .map(|e| e.strip_prefix(['+', '-']).unwrap_or(e))
        .is_some_and(|e| !e.is_empty() && e.len() <= 3 && e.bytes().all(|b| b.is_ascii_digit()));
    let known = [
        "", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei", "k", "M", "G", "T", "P", "E",
    ];
    if exponent || known.contains(&suffix) {
        return Ok(());
    }
    match suffix {
        "GB" | "gb" | "Gb" => bad("`GB` is not a Kubernetes suffix (Gi or G)"),
        "MB" | "mb" | "Mb" => bad("`MB` is not a Kubernetes suffix (Mi or M)"),
        "TB" | "tb" | "Tb" => bad("`TB` is not a Kubernetes suffix (Ti or T)"),
        "KB" | "kb" | "Kb" | "K" => bad("`K` is not a Kubernetes suffix (Ki or k)"),
        _ => bad("unknown suffix"),
    }
}

/// A DNS-1123 subdomain (storage classes, Secrets): lowercase letters,
/// digits, `-` and `.`, starting and ending alphanumeric, at most 253.
pub fn dns_subdomain(what: &str, s: &str) -> Result<(), String> {
    let ok = !s.is_empty() && s.len() <= 253 && s.split('.').all(|part| dns_label_ok(part, 63));
    if ok {
        return Ok(());
    }
    Err(format!(
        "{what} `{}`: expected a Kubernetes name (lowercase letters, digits, `-` and `.`, \
         starting and ending with a letter or digit, at most 253 characters)",
        printable(s)
    ))
}

/// A DNS-1123 label (namespaces): lowercase letters, digits and `-`,
/// starting and ending alphanumeric, at most 63.
pub fn dns_label(what: &str, s: &str) -> Result<(), String> {
    if dns_label_ok(s, 63) {
        return Ok(());
    }
    Err(format!(
        "{what} `{}`: expected a Kubernetes namespace name (lowercase letters, digits and \
         `-`, starting and ending with a letter or digit, at most 63 characters)",
        printable(s)
    ))
}

fn dns_label_ok(s: &str, max: usize) -> bool {
    let b = s.as_bytes();
    let alnum = |c: &u8| c.is_ascii_lowercase() || c.is_ascii_digit();
    !b.is_empty()
        && b.len() <= max
        && b.first().is_some_and(alnum)
        && b.last().is_some_and(alnum)
        && b.iter().all(|c| alnum(c) || *c == b'-')
}

/// A container image reference (`registry:5000/team/crypto-lab:0.1.0`,
/// `name@sha256:…`): an optional registry host (with port), path
/// components of lowercase letters and digits joined by `.`, `_`, `__` or
/// `-`, then an optional tag and digest, as the distribution reference
/// grammar has it.
pub fn image(s: &str) -> Result<(), String> {
    let bad = |why: &str| {
        Err(format!(
            "`{}`: {why}; expected an image reference such as \
             registry.example.com/team/crypto-lab:0.1.0",
            printable(s)
        ))
    };
    if s.is_empty() || s.len() > 1024 {
        return bad("empty or longer than 1024 characters");
    }
    if s.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return bad("whitespace or a control character");
    }
    let (rest, digest) = match s.split_once('@') {
        Some((r, d)) => (r, Some(d)),
        None => (s, None),
    };
    if let Some(d) = digest {
        let ok = d.split_once(':').is_some_and(|(alg, hex)| {
            !alg.is_empty()
                && alg
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
                && hex.len() >= 32
                && hex.bytes().all(|b| b.is_ascii_hexdigit())
        });
        if !ok {
            return bad("a digest is `@algorithm:hex`");
        }
    }
    // A tag is after the last `:` that follows the last `/` (a `:` before
    // it is a registry port).
    let last_slash = rest.rfind('/').map_or(0, |i| i + 1);
    let (name, tag) = match rest[last_slash..].rfind(':') {
        Some(i) => (&rest[..last_slash + i], Some(&rest[last_slash + i + 1..])),
        None => (rest, None),
    };
    if let Some(t) = tag {
        let b = t.as_bytes();
        let ok = !b.is_empty()
            && b.len() <= 128
            && (b[0].is_ascii_alphanumeric() || b[0] == b'_')
            && b.iter()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'.' | b'-'));
        if !ok {
            return bad("a tag is letters, digits, `_`, `.` and `-`, at most 128");
        }
    }
    let mut parts: Vec<&str> = name.split('/').collect();
    let host_like = |p: &str| p.contains(['.', ':']) || p == "localhost";
    if parts.len() > 1 && host_like(parts[0]) {
        let host = parts.remove(0);
        let (h, port) = host.split_once(':').unwrap_or((host, "0"));
        let host_ok = !h.is_empty()
            && h.split('.').all(|l| {
                !l.is_empty()
                    && !l.starts_with('-')
                    && !l.ends_with('-')
                    && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            })
            && !port.is_empty()
            && port.len() <= 5
            && port.bytes().all(|b| b.is_ascii_digit());
        if !host_ok {
            return bad("the registry is a host name with an optional :port");
        }
    }
    let component_ok = |p: &str| {
        let b = p.as_bytes();
        let alnum = |c: &u8| c.is_ascii_lowercase() || c.is_ascii_digit();
        !b.is_empty()
            && b.first().is_some_and(alnum)
            && b.last().is_some_and(alnum)
            && b.iter()
                .all(|c| alnum(c) || matches!(c, b'.' | b'_' | b'-'))
            && !p.contains("..")
            && !p.contains("___")
    };
    if parts.is_empty() || !parts.iter().all(|p| component_ok(p)) {
        return bad(
            "the repository is lowercase letters and digits, separated by `/`, `.`, `_` or `-`",
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn volume_sizes() {
        for ok in ["16Gi", "500M", "1e9", "1.5Ti", "100", "2E3", "0.5Gi"] {
            assert!(volume_size(ok).is_ok(), "{ok}");
        }
        for bad in [
            "16GB",
            "",
            "Gi",
            "0Gi",
            "-1Gi",
            "16 Gi",
            "16Gi\nx: y",
            "1.2.3Gi",
            "16gi",
        ] {
            assert!(volume_size(bad).is_err(), "{bad:?}");
        }
        let e = volume_size("16GB").expect_err("GB");
        assert!(e.contains("Gi or G"), "{e}");
    }

    #[test]
    fn kubernetes_names() {
        assert!(dns_subdomain("--storage-class", "gp3.csi").is_ok());
        assert!(dns_label("--namespace", "kubeflow-user-example-com").is_ok());
        for bad in ["", "Standard", "-a", "a-", "a b", "a\nb", &"a".repeat(64)] {
            assert!(dns_label("--namespace", bad).is_err(), "{bad:?}");
        }
        for bad in ["", "a..b", "gp3\n", "UPPER", &"a".repeat(254)] {
            assert!(dns_subdomain("--storage-class", bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn image_references() {
        for ok in [
            "crypto-lab:0.1.0",
            "ghcr.io/team/crypto-lab:v1",
            "localhost:5000/crypto-lab",
            "registry.example.com:443/a/b_c/d-e:1.0-rc.1",
            "crypto-lab@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
        ] {
            assert!(image(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "crypto lab",
            "crypto-lab:1\n    securityContext: x",
            "Crypto-Lab",
            "crypto-lab:",
            "a//b",
            "crypto-lab@md5",
            "-x",
            "host:abc/x",
        ] {
            assert!(image(bad).is_err(), "{bad:?}");
        }
        let e = image("a\u{1b}[31m").expect_err("esc");
        assert!(!e.contains('\u{1b}'), "{e}");
    }

    proptest::proptest! {
        // The flags that go into Kubernetes objects take any text and answer
        // with a value or an error that carries no raw control character.
        #[test]
        fn names_of_any_text_are_checked(text in "[\\PC\\n]{0,300}") {
            for r in [image(&text), volume_size(&text), dns_label("x", &text), dns_subdomain("x", &text)] {
                if let Err(e) = r {
                    proptest::prop_assert!(
                        !e.contains(['\u{1b}', '\0', '\u{7}']) && !e.contains('\n'),
                        "{}",
                        e
                    );
                } else {
                    proptest::prop_assert!(!text.contains('\n') && !text.contains(' '));
                }
            }
        }
    }
}
