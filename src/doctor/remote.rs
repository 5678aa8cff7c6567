//! What the workshop may reach over the network: Kaggle (credentials and
//! the competition's rules, asked as download-data asks) and a KFP API
//! (its healthz, asked by the submit client).

use std::time::Duration;

use reqwest::blocking::Client;

use super::{Check, DoctorOptions};
use crate::kfp::client::{ClientError, Credentials, KfpClient, PORT_FORWARD};
use crate::stages::download_data::credentials::{self, Auth, Lookup};
use crate::stages::download_data::{archive_url, check_dataset};

/// Kaggle credentials (where they are, never what) and, when they are
/// found and the network answers, whether the competition's rules are
/// accepted. Both only warn: the workshop runs on synthetic data.
pub fn kaggle(opts: &DoctorOptions) -> Vec<Check> {
    const NAME: &str = "kaggle credentials";
    let lookup = Lookup {
        env: opts
            .env
            .vars
            .iter()
            .filter(|(k, _)| k.starts_with("KAGGLE_"))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
        home: opts.env.home(),
        secret_dir: opts.secret_dir.clone(),
    };
    let found = match credentials::find(&lookup) {
        Ok(found) => found,
        Err(e) => {
            return vec![Check::warn(
                NAME,
                format!("{e} (optional: synthetic data works without)"),
                Some("download a new token under Settings > API on kaggle.com".into()),
            )]
        }
    };
    let Some(creds) = found.credentials else {
        return vec![Check::warn(
            NAME,
            format!(
                "none found (optional: synthetic data works without); looked in {}",
                found.looked.join(", ")
            ),
            Some(
                "save the kaggle.json from kaggle.com Settings > API as ~/.kaggle/kaggle.json (chmod 600), or set KAGGLE_USERNAME and KAGGLE_KEY"
                    .into(),
            ),
        )];
    };
    let mut checks = Vec::new();
    match found.warnings.first() {
        Some(w) => {
            let fix = w.split("run: ").nth(1).map(str::to_string);
            checks.push(Check::warn(
                NAME,
                format!("from {}, but it is readable by other users", creds.origin),
                fix,
            ));
        }
        None => checks.push(Check::ok(NAME, format!("from {}", creds.origin))),
    }
    checks.push(kaggle_rules(
        &opts.kaggle_api,
        &opts.dataset,
        &creds.auth,
        opts.timeout,
    ));
    checks
}

/// Asks Kaggle for the competition's archive as download-data does, without
/// following the redirect to it: a redirect (or 200) means the rules are
/// accepted, 403 that they are not.
pub fn kaggle_rules(api: &str, dataset: &str, auth: &Auth, timeout: Duration) -> Check {
    const NAME: &str = "kaggle rules";
    // The dataset goes into a URL and a message: only a Kaggle slug may.
    if let Err(e) = check_dataset(dataset) {
        return Check::warn(NAME, format!("not checked: {e}"), None);
    }
    let url = archive_url(api, dataset);
    let rules = format!("https://www.kaggle.com/competitions/{dataset}/rules");
    let Some(client) = http_client(timeout) else {
        return Check::warn(NAME, "not checked (no HTTP client)", None);
    };
    let request = auth.apply(client.get(&url));
    match request.send() {
        Err(e) if e.is_connect() || e.is_timeout() => Check::warn(
            NAME,
            "not checked (offline; synthetic data works without)",
            None,
        ),
        Err(_) => Check::warn(NAME, format!("not checked: {api} did not answer"), None),
        Ok(resp) => match resp.status().as_u16() {
            200..=399 => Check::ok(NAME, format!("accepted for {dataset}")),
            401 => Check::warn(
                NAME,
                "Kaggle rejected the credentials (401)",
                Some("download a new token under Settings > API on kaggle.com".into()),
            ),
            403 => Check::warn(
                NAME,
                format!("not accepted for {dataset} (403): downloads will be refused"),
                Some(format!("accept the rules at {rules} while signed in")),
            ),
            404 => Check::warn(NAME, format!("no competition `{dataset}` (404)"), None),
            code => Check::warn(NAME, format!("not checked: Kaggle answered {code}"), None),
        },
    }
}

fn http_client(timeout: Duration) -> Option<Client> {
    Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(timeout)
        .timeout(timeout)
        .user_agent(format!("{} doctor", crate::version::USER_AGENT))
        .build()
        .ok()
}

/// A KFP API server's health, asked as `submit` asks it
/// (`GET {host}/apis/v2beta1/healthz`, [`KfpClient::healthz`]).
pub fn kfp_host(host: &str, timeout: Duration) -> Check {
    const NAME: &str = "kfp";
    let client = KfpClient::new(host, Credentials::none()).and_then(|c| c.with_timeout(timeout));
    let client = match client {
        Ok(c) => c,
        Err(_) => {
            return Check::missing(
                NAME,
                format!(
                    "`{}` is not a URL like http://localhost:8080",
                    crate::error::printable(host)
                ),
                "pass --kfp-host http://HOST:PORT",
            )
        }
    };
    let url = client.health_url();
    match client.healthz() {
        Ok(health) => Check::ok(
            NAME,
            format!(
                "KFP {} ({}): {url} answered 200",
                health.version(),
                if health.multi_user {
                    "multi-user: submit needs --namespace"
                } else {
                    "single-user"
                }
            ),
        ),
        Err(ClientError::Connect { .. }) => Check::missing(
            NAME,
            format!("{host} is unreachable (is the port-forward running?)"),
            PORT_FORWARD,
        ),
        Err(ClientError::Rejected { status, .. }) => Check::missing(
            NAME,
            format!("{url} answered {status}"),
            "check --kfp-host (the KFP UI or API server, e.g. http://localhost:8080)",
        ),
        Err(e) => Check::missing(
            NAME,
            e.to_string(),
            "check --kfp-host (the KFP UI or API server, e.g. http://localhost:8080)",
        ),
    }
}
