//! A blocking client for the REST APIs of the services adapters talk to (MLflow's tracking
//! server, an H2O cluster): JSON and form calls, raw and multipart uploads, downloads,
//! credentials, and retries with backoff on connection errors and server errors.
//!
//! Errors: a server that does not answer (or keeps answering 5xx) is MBT4019 naming the service
//! and its URI; any other error response is an [`ApiError`] (callers test `error_code`, e.g.
//! `RESOURCE_DOES_NOT_EXIST`), coded MBT4020 when it leaves the adapter.

use std::time::Duration;

use base64::Engine;
use serde_json::Value;

use crate::error::{coded, Code, CodedError};

/// How many times a request is sent before the server counts as unreachable, and the first
/// pause between attempts (doubled each time: 0.5 + 1 + 2 + 4 s).
const ATTEMPTS: u32 = 5;
const FIRST_PAUSE: Duration = Duration::from_millis(500);

/// An error response from the server: its HTTP status, its error code (MLflow's `error_code`,
/// else the status's name) and message.
#[derive(Debug)]
pub struct ApiError {
    pub status: u16,
    pub error_code: String,
    pub message: String,
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "HTTP {} {}: {}",
            self.status, self.error_code, self.message
        )
    }
}

impl std::error::Error for ApiError {}

/// Whether `error` is the server saying that what was asked for does not exist.
pub fn is_not_found(error: &anyhow::Error) -> bool {
    error
        .downcast_ref::<ApiError>()
        .is_some_and(|api| api.status == 404 || api.error_code == "RESOURCE_DOES_NOT_EXIST")
}

/// Credentials sent with every request (never logged, never part of an error).
#[derive(Clone)]
pub enum Auth {
    None,
    Basic { user: String, password: String },
    Bearer(String),
}

impl Auth {
    fn header(&self) -> Option<String> {
        match self {
            Auth::None => None,
            Auth::Basic { user, password } => Some(format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
            )),
            Auth::Bearer(token) => Some(format!("Bearer {token}")),
        }
    }
}

/// What a client says about the service it talks to, in its errors.
pub struct Service {
    /// e.g. "the MLflow tracking server".
    pub name: &'static str,
    /// The help line when it does not answer.
    pub unreachable_help: &'static str,
    /// What the setting that points at it should point at, when an answer is not JSON.
    pub not_json_help: &'static str,
}

/// MLflow's tracking server.
pub const MLFLOW: Service = Service {
    name: "the MLflow tracking server",
    unreachable_help: "start the server or correct `tracking_uri` in profiles.yaml (`mbt debug` \
                       checks it), then `mbt retry PIPELINE`",
    not_json_help: "check that `tracking_uri` points at an MLflow tracking server",
};

/// A service at `base` (`http(s)://host:port`, no trailing slash).
pub struct Rest {
    service: &'static Service,
    base: String,
    agent: ureq::Agent,
    auth: Auth,
    /// The pause before the second attempt (tests shorten it).
    first_pause: Duration,
}

enum Body<'a> {
    None,
    Json(&'a Value),
    Bytes(&'a [u8]),
    /// Bytes of a named content type.
    Typed(&'a str, &'a [u8]),
    Form(&'a [(&'a str, &'a str)]),
    /// A multipart/form-data body holding one file (boundary, body).
    Multipart(&'a str, &'a [u8]),
}

/// The HTTP agent of every service client: 10 s to connect, 10 minutes for a whole exchange
/// (artifacts), statuses as answers rather than errors.
pub fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .timeout_connect(Some(Duration::from_secs(10)))
        .timeout_global(Some(Duration::from_secs(600)))
        .http_status_as_error(false)
        .build()
        .into()
}

impl Rest {
    pub fn new(service: &'static Service, base: &str, auth: Auth) -> Rest {
        let agent = agent();
        Rest {
            service,
            base: base.trim_end_matches('/').to_string(),
            agent,
            auth,
            first_pause: FIRST_PAUSE,
        }
    }

    /// The server's URI, for messages.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// The same server and credentials, one attempt per request (`mbt debug` reports at once;
    /// readiness polls retry themselves).
    pub fn once(&self) -> Rest {
        Rest {
            service: self.service,
            base: self.base.clone(),
            agent: self.agent.clone(),
            auth: self.auth.clone(),
            first_pause: Duration::ZERO,
        }
    }

    pub fn get_json(&self, path: &str, query: &[(&str, &str)]) -> anyhow::Result<Value> {
        parse(
            self.send("GET", path, query, Body::None)?,
            path,
            self.service,
        )
    }

    pub fn post_json(&self, path: &str, body: &Value) -> anyhow::Result<Value> {
        parse(
            self.send("POST", path, &[], Body::Json(body))?,
            path,
            self.service,
        )
    }

    pub fn get_bytes(&self, path: &str) -> anyhow::Result<Vec<u8>> {
        self.send("GET", path, &[], Body::None)
    }

    pub fn get_bytes_with(&self, path: &str, query: &[(&str, &str)]) -> anyhow::Result<Vec<u8>> {
        self.send("GET", path, query, Body::None)
    }

    pub fn delete(&self, path: &str) -> anyhow::Result<()> {
        self.send("DELETE", path, &[], Body::None).map(drop)
    }

    /// POSTs form-encoded `fields` and parses the JSON answer.
    pub fn post_form(&self, path: &str, fields: &[(&str, &str)]) -> anyhow::Result<Value> {
        parse(
            self.send("POST", path, &[], Body::Form(fields))?,
            path,
            self.service,
        )
    }

    /// POSTs `bytes` as the one file of a multipart form and parses the JSON answer.
    pub fn post_file(&self, path: &str, bytes: &[u8]) -> anyhow::Result<Value> {
        // A boundary that cannot occur in the file: long and random-looking enough for CSV.
        let boundary = format!("mbt-{:016x}", bytes.len() as u64 ^ 0x9e37_79b9_7f4a_7c15);
        let mut body = format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"data\"\r\n\
             Content-Type: application/octet-stream\r\n\r\n"
        )
        .into_bytes();
        body.extend_from_slice(bytes);
        body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
        parse(
            self.send("POST", path, &[], Body::Multipart(&boundary, &body))?,
            path,
            self.service,
        )
    }

    pub fn put_bytes(&self, path: &str, bytes: &[u8]) -> anyhow::Result<()> {
        self.send("PUT", path, &[], Body::Bytes(bytes)).map(drop)
    }

    /// POST of `bytes` as `content_type` (e.g. Prometheus' text format).
    pub fn post_typed(&self, path: &str, content_type: &str, bytes: &[u8]) -> anyhow::Result<()> {
        self.send("POST", path, &[], Body::Typed(content_type, bytes))
            .map(drop)
    }

    /// Sends one request, retrying connection errors and 5xx with backoff; returns the body of
    /// a 2xx answer.
    fn send(
        &self,
        method: &str,
        path: &str,
        query: &[(&str, &str)],
        body: Body<'_>,
    ) -> anyhow::Result<Vec<u8>> {
        let url = format!("{}{path}", self.base);
        let attempts = if self.first_pause.is_zero() {
            1
        } else {
            ATTEMPTS
        };
        let mut pause = self.first_pause;
        let mut last = String::new();
        for attempt in 1..=attempts {
            if attempt > 1 {
                std::thread::sleep(pause);
                pause *= 2;
            }
            match self.attempt(method, &url, query, &body) {
                Ok((status, bytes)) if (200..300).contains(&status) => return Ok(bytes),
                Ok((status, bytes)) if status >= 500 => {
                    last = format!("HTTP {status}: {}", excerpt(&bytes));
                }
                Ok((status, bytes)) => {
                    let api = api_error(status, &bytes);
                    let message = format!(
                        "{} at {} refused {method} {path}: {api}",
                        self.service.name, self.base
                    );
                    // The typed cause stays reachable (`is_not_found`) under the coded context.
                    return Err(anyhow::Error::new(api).context(CodedError {
                        code: Code::ServiceRejected,
                        message,
                        help: "check the credentials and the server's configuration \
                               (`mbt debug` tries them)"
                            .into(),
                    }));
                }
                Err(error) => last = error.to_string(),
            }
        }
        Err(coded(
            Code::ServiceUnreachable,
            format!(
                "{} at {} did not answer {method} {path} ({attempts} attempt(s)): {last}",
                self.service.name, self.base
            ),
            self.service.unreachable_help,
        ))
    }

    fn attempt(
        &self,
        method: &str,
        url: &str,
        query: &[(&str, &str)],
        body: &Body<'_>,
    ) -> Result<(u16, Vec<u8>), ureq::Error> {
        let authorization = self.auth.header();
        let response = match (method, body) {
            ("DELETE", _) => {
                let mut request = self.agent.delete(url);
                if let Some(value) = &authorization {
                    request = request.header("Authorization", value);
                }
                request.call()?
            }
            ("GET", _) => {
                let mut request = self.agent.get(url);
                for (key, value) in query {
                    request = request.query(*key, *value);
                }
                if let Some(value) = &authorization {
                    request = request.header("Authorization", value);
                }
                request.call()?
            }
            (_, body) => {
                let mut request = if method == "PUT" {
                    self.agent.put(url)
                } else {
                    self.agent.post(url)
                };
                if let Some(value) = &authorization {
                    request = request.header("Authorization", value);
                }
                match body {
                    Body::Json(value) => request
                        .header("Content-Type", "application/json")
                        .send(serde_json::to_vec(value).unwrap_or_default().as_slice())?,
                    Body::Bytes(bytes) => request
                        .header("Content-Type", "application/octet-stream")
                        .send(*bytes)?,
                    Body::Typed(content_type, bytes) => {
                        request.header("Content-Type", *content_type).send(*bytes)?
                    }
                    Body::Form(fields) => request.send_form(fields.iter().copied())?,
                    Body::Multipart(boundary, bytes) => request
                        .header(
                            "Content-Type",
                            format!("multipart/form-data; boundary={boundary}"),
                        )
                        .send(*bytes)?,
                    Body::None => request.send_empty()?,
                }
            }
        };
        let status = response.status().as_u16();
        // Artifacts (a model) may be larger than ureq's default 10 MB read limit.
        let bytes = response
            .into_body()
            .with_config()
            .limit(u64::MAX)
            .read_to_vec()?;
        Ok((status, bytes))
    }
}

fn parse(bytes: Vec<u8>, path: &str, service: &Service) -> anyhow::Result<Value> {
    if bytes.is_empty() {
        return Ok(Value::Object(Default::default()));
    }
    serde_json::from_slice(&bytes).map_err(|error| {
        coded(
            Code::ServiceRejected,
            format!(
                "the answer to {path} is not JSON ({error}): {}",
                excerpt(&bytes)
            ),
            service.not_json_help,
        )
    })
}

/// MLflow's `{"error_code", "message"}`, H2O's `{"msg"}` / `{"exception_msg"}`, or the start
/// of whatever else the server sent.
fn api_error(status: u16, bytes: &[u8]) -> ApiError {
    let value: Value = serde_json::from_slice(bytes).unwrap_or(Value::Null);
    let field = |name: &str| value.get(name).and_then(Value::as_str).map(str::to_string);
    ApiError {
        status,
        error_code: field("error_code").unwrap_or_else(|| status_name(status).to_string()),
        message: field("message")
            .or_else(|| field("exception_msg"))
            .or_else(|| field("msg"))
            .unwrap_or_else(|| excerpt(bytes)),
    }
}

fn status_name(status: u16) -> &'static str {
    match status {
        401 => "UNAUTHENTICATED",
        403 => "PERMISSION_DENIED",
        404 => "NOT_FOUND",
        _ => "BAD_REQUEST",
    }
}

/// The first 300 characters of a body, for messages.
fn excerpt(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    let text = text.trim();
    match text.char_indices().nth(300) {
        Some((end, _)) => format!("{}...", &text[..end]),
        None => text.to_string(),
    }
}

/// A scripted HTTP server for unit tests: answers each of `responses` (status line and JSON
/// body) to one connection, in order, and hands back each request's first line.
#[cfg(test)]
pub(crate) fn serve(
    responses: Vec<(&'static str, &'static str)>,
) -> (String, std::sync::mpsc::Receiver<String>) {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let (sender, requests) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for (status, body) in responses {
            let (mut stream, _) = listener.accept().unwrap();
            let mut request = Vec::new();
            let mut buffer = [0u8; 8192];
            let header_end = loop {
                if let Some(end) = request.windows(4).position(|w| w == b"\r\n\r\n") {
                    break end + 4;
                }
                let read = stream.read(&mut buffer).unwrap();
                if read == 0 {
                    break request.len();
                }
                request.extend_from_slice(&buffer[..read]);
            };
            let head = String::from_utf8_lossy(&request[..header_end]).to_string();
            // Read the body too: closing a socket with unread bytes resets the connection.
            let length: usize = head
                .lines()
                .find_map(|line| {
                    line.to_ascii_lowercase()
                        .strip_prefix("content-length:")
                        .map(|v| v.trim().parse().unwrap_or(0))
                })
                .unwrap_or(0);
            while request.len() < header_end + length {
                let read = stream.read(&mut buffer).unwrap();
                if read == 0 {
                    break;
                }
                request.extend_from_slice(&buffer[..read]);
            }
            let _ = sender.send(head.lines().next().unwrap_or_default().to_string());
            let response = format!(
                "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
            stream.write_all(response.as_bytes()).unwrap();
        }
    });
    (url, requests)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_become_authorization_headers() {
        let basic = Auth::Basic {
            user: "ada".into(),
            password: "s3cret".into(),
        };
        assert_eq!(basic.header().unwrap(), "Basic YWRhOnMzY3JldA==");
        assert_eq!(Auth::Bearer("tok".into()).header().unwrap(), "Bearer tok");
        assert_eq!(Auth::None.header(), None);
    }

    #[test]
    fn error_bodies_keep_mlflows_code_and_message() {
        let error = api_error(
            404,
            br#"{"error_code": "RESOURCE_DOES_NOT_EXIST", "message": "Run 'x' not found"}"#,
        );
        assert_eq!(error.error_code, "RESOURCE_DOES_NOT_EXIST");
        assert_eq!(
            error.to_string(),
            "HTTP 404 RESOURCE_DOES_NOT_EXIST: Run 'x' not found"
        );
        assert!(is_not_found(&error.into()));
        let error = api_error(403, b"<html>Forbidden</html>");
        assert_eq!(
            error.to_string(),
            "HTTP 403 PERMISSION_DENIED: <html>Forbidden</html>"
        );
    }

    #[test]
    fn a_refusal_is_mbt4020_and_keeps_the_servers_error() {
        let (url, _) = serve(vec![
            (
                "403 Forbidden",
                r#"{"error_code": "PERMISSION_DENIED", "message": "no"}"#,
            ),
            (
                "404 Not Found",
                r#"{"error_code": "RESOURCE_DOES_NOT_EXIST", "message": "gone"}"#,
            ),
        ]);
        let rest = Rest::new(&MLFLOW, &url, Auth::Bearer("t".into()));
        let error = rest.get_json("/api/2.0/mlflow/runs/get", &[]).unwrap_err();
        assert_eq!(
            crate::error::code_of(&error).map(|(code, _)| code),
            Some(Code::ServiceRejected)
        );
        assert_eq!(
            error.to_string(),
            format!(
                "the MLflow tracking server at {url} refused GET /api/2.0/mlflow/runs/get: \
                 HTTP 403 PERMISSION_DENIED: no"
            )
        );
        assert!(!is_not_found(&error));
        let error = rest.get_json("/api/2.0/mlflow/runs/get", &[]).unwrap_err();
        assert!(is_not_found(&error));
    }

    #[test]
    fn server_errors_are_retried() {
        let (url, _) = serve(vec![
            ("503 Service Unavailable", "{}"),
            ("200 OK", r#"{"experiment_id": "7"}"#),
        ]);
        let mut rest = Rest::new(&MLFLOW, &url, Auth::None);
        rest.first_pause = Duration::from_millis(1);
        let answer = rest
            .post_json("/api/2.0/mlflow/experiments/create", &serde_json::json!({}))
            .unwrap();
        assert_eq!(answer["experiment_id"], "7");
    }

    #[test]
    fn an_unreachable_server_is_mbt4019_naming_the_uri() {
        // A port nothing listens on: bind one, then close it.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut rest = Rest::new(&MLFLOW, &format!("http://127.0.0.1:{port}/"), Auth::None);
        rest.first_pause = Duration::from_millis(1);
        let error = rest.get_json("/health", &[]).unwrap_err();
        let (code, _) = crate::error::code_of(&error).unwrap();
        assert_eq!(code, Code::ServiceUnreachable);
        let message = error.to_string();
        assert!(
            message.starts_with(&format!(
                "the MLflow tracking server at http://127.0.0.1:{port} did not answer GET \
                 /health (5 attempt(s)): "
            )),
            "{message}"
        );
    }
}
