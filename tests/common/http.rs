//! A real HTTP/1.1 server on loopback standing in for Kaggle's API and its
//! storage host, with the failure modes a download meets.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::thread;

/// One request as the server saw it.
#[derive(Debug, Clone)]
pub struct Seen {
    pub path: String,
    pub headers: HashMap<String, String>,
}

/// How the server behaves; change it between requests through `Server::set`.
#[derive(Debug, Clone, Default)]
pub struct Behaviour {
    /// API mode: the Authorization header it accepts (else 401).
    pub expect_auth: Option<String>,
    /// API mode: answer this status instead of redirecting.
    pub status: Option<u16>,
    /// API mode: redirect here (the storage server's URL).
    pub redirect_to: Option<String>,
    /// Storage mode: the archive served.
    pub body: Vec<u8>,
    /// Storage mode: honour `Range: bytes=N-`.
    pub ranges: bool,
    /// Storage mode: for this many responses, close after this many body bytes.
    pub cut: Option<(usize, usize)>,
    /// Storage mode: the archive's ETag; a request whose `If-Range` differs
    /// gets the whole archive (200), as a server does for a changed file.
    pub etag: Option<String>,
    /// Storage mode: after this many body bytes, send nothing more and hold
    /// the connection open for a minute (a stalled mirror).
    pub stall_after: Option<usize>,
    /// Storage mode: no Content-Length (the body ends when the connection
    /// closes), so a client cannot know the size in advance.
    pub no_length: bool,
}

pub struct Server {
    pub url: String,
    state: Arc<Mutex<(Behaviour, Vec<Seen>)>>,
}

impl Server {
    pub fn start(b: Behaviour) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let state = Arc::new(Mutex::new((b, Vec::new())));
        let shared = state.clone();
        thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let shared = shared.clone();
                thread::spawn(move || handle(stream, &shared));
            }
        });
        Server { url, state }
    }

    pub fn set(&self, f: impl FnOnce(&mut Behaviour)) {
        f(&mut self.state.lock().expect("lock").0);
    }

    pub fn seen(&self) -> Vec<Seen> {
        self.state.lock().expect("lock").1.clone()
    }
}

fn handle(mut stream: TcpStream, state: &Mutex<(Behaviour, Vec<Seen>)>) {
    let mut reader = BufReader::new(stream.try_clone().expect("clone"));
    let mut line = String::new();
    if reader.read_line(&mut line).is_err() {
        return;
    }
    let path = line.split_whitespace().nth(1).unwrap_or("/").to_string();
    let mut headers = HashMap::new();
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h).is_err() || h.trim().is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_string());
        }
    }
    let (b, cut_now) = {
        let mut guard = state.lock().expect("lock");
        guard.1.push(Seen {
            path: path.clone(),
            headers: headers.clone(),
        });
        let cut_now = match guard.0.cut {
            Some((times, after)) if times > 0 && guard.0.redirect_to.is_none() => {
                guard.0.cut = Some((times - 1, after));
                Some(after)
            }
            _ => None,
        };
        (guard.0.clone(), cut_now)
    };
    let respond = |stream: &mut TcpStream, status: &str, extra: &str, body: &[u8]| {
        let head = format!(
            "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n{extra}\r\n",
            body.len()
        );
        let _ = stream.write_all(head.as_bytes());
        let _ = stream.write_all(body);
    };
    if let Some(target) = &b.redirect_to {
        // The API.
        if let Some(expected) = &b.expect_auth {
            if headers.get("authorization") != Some(expected) {
                respond(&mut stream, "401 Unauthorized", "", b"{\"code\":401}");
                return;
            }
        }
        match b.status {
            Some(403) => respond(&mut stream, "403 Forbidden", "", b"{\"code\":403}"),
            Some(404) => respond(&mut stream, "404 Not Found", "", b"{\"code\":404}"),
            Some(401) => respond(&mut stream, "401 Unauthorized", "", b"{}"),
            Some(500) => respond(&mut stream, "500 Internal Server Error", "", b"{}"),
            _ => respond(
                &mut stream,
                "302 Found",
                &format!("Location: {target}\r\n"),
                b"",
            ),
        }
        return;
    }
    // The storage host.
    let total = b.body.len();
    let unchanged = match (headers.get("if-range"), &b.etag) {
        (Some(asked), Some(current)) => asked == current,
        (Some(_), None) => false,
        (None, _) => true,
    };
    let start = headers
        .get("range")
        .and_then(|r| r.strip_prefix("bytes="))
        .and_then(|r| r.trim_end_matches('-').parse::<usize>().ok())
        .filter(|_| b.ranges && unchanged);
    let (status, extra, from) = match start {
        Some(s) if s < total => (
            "206 Partial Content",
            format!(
                "Content-Range: bytes {s}-{}/{total}\r\nAccept-Ranges: bytes\r\n",
                total - 1
            ),
            s,
        ),
        Some(_) => (
            "416 Range Not Satisfiable",
            format!("Content-Range: bytes */{total}\r\n"),
            total,
        ),
        None => ("200 OK", "Accept-Ranges: bytes\r\n".to_string(), 0),
    };
    let body = &b.body[from..];
    let length = if b.no_length {
        String::new()
    } else {
        format!("Content-Length: {}\r\n", body.len())
    };
    let etag = b
        .etag
        .as_ref()
        .map(|e| format!("ETag: {e}\r\n"))
        .unwrap_or_default();
    let head = format!("HTTP/1.1 {status}\r\n{length}Connection: close\r\n{etag}{extra}\r\n");
    let _ = stream.write_all(head.as_bytes());
    if let Some(after) = b.stall_after {
        let _ = stream.write_all(&body[..after.min(body.len())]);
        let _ = stream.flush();
        thread::sleep(std::time::Duration::from_secs(60));
        return;
    }
    match cut_now {
        Some(after) => {
            let _ = stream.write_all(&body[..after.min(body.len())]);
            let _ = stream.flush();
            let _ = stream.shutdown(std::net::Shutdown::Both);
        }
        None => {
            let _ = stream.write_all(body);
        }
    }
}
