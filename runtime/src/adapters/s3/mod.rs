//! `s3` storage: artifacts as objects `<prefix>/<run>/<step>/<name>` of an S3-compatible
//! bucket, over the S3 REST API with SigV4 signatures (`sign.rs`), path-style for self-hosted
//! stores.
//!
//! Small artifacts are one PutObject; larger ones stream out in multipart uploads of
//! [`PART_SIZE`] parts as the step encodes them (never the whole artifact in memory), aborted
//! when the encoding fails. Either way an object is visible only once complete, so a reader
//! never sees half an artifact. Every request is retried with backoff on connection errors and
//! 5xx answers (the same part again, mid-upload); then MBT4019. A missing bucket or key is
//! MBT4013, refused credentials MBT4020.

mod registry;
mod sign;

pub use registry::model_registry;

use std::io::Write;
use std::time::Duration;

use mbt_contract::adapters::{S3Config, StorageSettings};

use super::{Adapter, BuildContext, Storage, Writing};
use crate::error::{coded, Code};
use sign::{encode, sha256_hex, Request, Signer};

/// Parts of a multipart upload (S3's minimum is 5 MiB for all but the last).
const PART_SIZE: usize = 8 * 1024 * 1024;
const ATTEMPTS: u32 = 5;
const FIRST_PAUSE: Duration = Duration::from_millis(250);

struct S3Storage {
    client: Client,
    prefix: String,
    /// Set once the bucket answered: the first write of a run asks for it, so a missing
    /// bucket is named as such whatever the store does with a write into it.
    bucket_seen: std::sync::OnceLock<()>,
}

/// The `s3` storage of a target.
pub fn storage(
    settings: &StorageSettings,
    context: &BuildContext<'_>,
) -> anyhow::Result<Box<dyn Storage>> {
    let StorageSettings::S3(config) = settings else {
        anyhow::bail!("the s3 factory got another storage's settings");
    };
    Ok(Box::new(S3Storage {
        client: Client::new(config, context)?,
        prefix: prefix_of(config),
        bucket_seen: std::sync::OnceLock::new(),
    }))
}

/// The target's key prefix without surrounding slashes (empty: the bucket's root).
fn prefix_of(config: &S3Config) -> String {
    config
        .prefix
        .as_deref()
        .unwrap_or("")
        .trim_matches('/')
        .to_string()
}

/// `prefix/rest`, or `rest` at the bucket's root.
fn under(prefix: &str, rest: &str) -> String {
    if prefix.is_empty() {
        rest.to_string()
    } else {
        format!("{prefix}/{rest}")
    }
}

struct S3Writer {
    client: Client,
    prefix: String,
}

/// The `s3` output writer: each published table an object `<prefix>/<table>` (CSV, or Parquet
/// by the table's extension), replaced whole by each run.
pub fn output_writer(
    settings: &mbt_contract::adapters::WriterSettings,
    context: &BuildContext<'_>,
) -> anyhow::Result<Box<dyn super::OutputWriter>> {
    let mbt_contract::adapters::WriterSettings::S3(config) = settings else {
        anyhow::bail!("the s3 factory got another writer's settings");
    };
    Ok(Box::new(S3Writer {
        client: Client::new(config, context)?,
        prefix: prefix_of(config),
    }))
}

impl Adapter for S3Writer {}

impl super::OutputWriter for S3Writer {
    fn write(
        &self,
        table: &str,
        frame: &polars::prelude::DataFrame,
        _run_id: &str,
    ) -> anyhow::Result<String> {
        let bytes = super::local::encode_table(table, frame)?;
        let key = under(&self.prefix, table);
        self.client.put_object(&key, &bytes)?;
        Ok(format!("s3://{}/{key}", self.client.bucket))
    }

    fn health(&self) -> anyhow::Result<String> {
        self.client.bucket_health(&self.prefix)
    }
}

/// One bucket of one store.
struct Client {
    agent: ureq::Agent,
    signer: Option<Signer>,
    /// `http(s)://host[:port]`.
    origin: String,
    /// `host[:port]` as the Host header carries it.
    host: String,
    bucket: String,
    path_style: bool,
    first_pause: Duration,
}

/// An answer: status, headers we read, body.
struct Answer {
    status: u16,
    etag: Option<String>,
    body: Vec<u8>,
}

impl Client {
    fn new(config: &S3Config, context: &BuildContext<'_>) -> anyhow::Result<Client> {
        let region = config.region.clone().unwrap_or_else(|| "us-east-1".into());
        let path_style = config.path_style.unwrap_or(config.endpoint.is_some());
        let endpoint = config
            .endpoint
            .clone()
            .unwrap_or_else(|| format!("https://s3.{region}.amazonaws.com"));
        let endpoint = endpoint.trim_end_matches('/');
        let (scheme, authority) = endpoint.split_once("://").ok_or_else(|| {
            coded(
                Code::AdapterFailed,
                format!("the s3 endpoint `{endpoint}` has no scheme"),
                "write the endpoint as `http://HOST:PORT` or `https://HOST`",
            )
        })?;
        // The Host header leaves the scheme's default port out.
        let authority = match scheme {
            "http" => authority.trim_end_matches(":80"),
            _ => authority.trim_end_matches(":443"),
        };
        let host = if path_style {
            authority.to_string()
        } else {
            format!("{}.{authority}", config.bucket)
        };
        let signer = match (&config.access_key_id, &config.secret_access_key) {
            (Some(key), Some(secret)) => Some(Signer {
                access_key: context.secret(key)?,
                secret_key: context.secret(secret)?,
                region,
            }),
            _ => None,
        };
        let agent = super::rest::agent();
        Ok(Client {
            agent,
            signer,
            origin: format!("{scheme}://{host}"),
            host,
            bucket: config.bucket.clone(),
            path_style,
            first_pause: FIRST_PAUSE,
        })
    }

    /// The request path of `key` (`/bucket/key` path-style), encoded.
    fn path(&self, key: &str) -> String {
        let key = encode(key, false);
        match (self.path_style, key.is_empty()) {
            (true, true) => format!("/{}", self.bucket),
            (true, false) => format!("/{}/{key}", self.bucket),
            (false, _) => format!("/{key}"),
        }
    }

    /// Sends one request, retrying connection errors and 5xx with backoff; a 2xx answer, or the
    /// coded error of another.
    fn send(
        &self,
        method: &str,
        key: &str,
        query: &[(&str, &str)],
        body: &[u8],
    ) -> anyhow::Result<Answer> {
        self.send_with(method, key, query, &[], &[], body)
    }

    /// [`Client::send`] with more (signed) headers, and statuses besides 2xx that are answers
    /// rather than errors (412 for a conditional write that lost).
    fn send_with(
        &self,
        method: &str,
        key: &str,
        query: &[(&str, &str)],
        headers: &[(&str, &str)],
        accept: &[u16],
        body: &[u8],
    ) -> anyhow::Result<Answer> {
        let path = self.path(key);
        let what = format!("{method} s3://{}/{key}", self.bucket);
        let mut pause = self.first_pause;
        let mut last = String::new();
        for attempt in 1..=ATTEMPTS {
            if attempt > 1 {
                std::thread::sleep(pause);
                pause *= 2;
            }
            match self.attempt(method, &path, query, headers, body) {
                Ok(answer)
                    if (200..300).contains(&answer.status) || accept.contains(&answer.status) =>
                {
                    return Ok(answer)
                }
                Ok(answer) if answer.status >= 500 || answer.status == 429 => {
                    last = format!("HTTP {}: {}", answer.status, error_code(&answer.body).0);
                }
                Ok(answer) => return Err(self.refused(&what, key, &answer)),
                Err(error) => last = error.to_string(),
            }
        }
        Err(coded(
            Code::ServiceUnreachable,
            format!(
                "the S3 store at {} did not answer {what} ({ATTEMPTS} attempts): {last}",
                self.origin
            ),
            "start the store or correct `endpoint` in profiles.yaml (`mbt debug` checks it), then `mbt retry PIPELINE`",
        ))
    }

    fn attempt(
        &self,
        method: &str,
        path: &str,
        query: &[(&str, &str)],
        extra: &[(&str, &str)],
        body: &[u8],
    ) -> Result<Answer, ureq::Error> {
        let payload_hash = sha256_hex(body);
        let amz_date = chrono::Utc::now().format("%Y%m%dT%H%M%SZ").to_string();
        let mut url = format!("{}{path}", self.origin);
        if !query.is_empty() {
            url.push('?');
            url.push_str(&sign::canonical_query(query));
        }
        let authorization = self.signer.as_ref().map(|signer| {
            signer.authorization(&Request {
                method,
                host: &self.host,
                path,
                query,
                headers: extra,
                payload_hash: &payload_hash,
                amz_date: &amz_date,
            })
        });
        let headers = [
            ("x-amz-content-sha256", payload_hash.as_str()),
            ("x-amz-date", amz_date.as_str()),
        ];
        macro_rules! with_headers {
            ($request:expr) => {{
                let mut request = $request;
                for (name, value) in headers.iter().chain(extra) {
                    request = request.header(*name, *value);
                }
                if let Some(value) = &authorization {
                    request = request.header("Authorization", value);
                }
                request
            }};
        }
        let response = match method {
            "GET" => with_headers!(self.agent.get(&url)).call()?,
            "HEAD" => with_headers!(self.agent.head(&url)).call()?,
            "DELETE" => with_headers!(self.agent.delete(&url)).call()?,
            "POST" => with_headers!(self.agent.post(&url)).send(body)?,
            _ => with_headers!(self.agent.put(&url)).send(body)?,
        };
        let status = response.status().as_u16();
        let etag = response
            .headers()
            .get("etag")
            .and_then(|value| value.to_str().ok())
            .map(str::to_string);
        let body = response
            .into_body()
            .with_config()
            .limit(u64::MAX)
            .read_to_vec()?;
        Ok(Answer { status, etag, body })
    }

    /// The coded error of a refused request (S3's error code and message kept).
    fn refused(&self, what: &str, key: &str, answer: &Answer) -> anyhow::Error {
        let (mut code, message) = error_code(&answer.body);
        // A HEAD of the bucket itself has no error document to say so.
        if key.is_empty() && answer.status == 404 {
            code = "NoSuchBucket".into();
        }
        let text = format!(
            "the S3 store at {} refused {what}: HTTP {} {code}{}",
            self.origin,
            answer.status,
            if message.is_empty() {
                String::new()
            } else {
                format!(" ({message})")
            }
        );
        match (answer.status, code.as_str()) {
            (_, "NoSuchBucket") => coded(
                Code::StorageFailed,
                text,
                format!(
                    "create the bucket `{}` (or correct `bucket` in profiles.yaml), then `mbt retry PIPELINE`",
                    self.bucket
                ),
            ),
            (404, _) => coded(
                Code::StorageFailed,
                text,
                "the artifact was moved or deleted: run the pipeline again",
            ),
            (401 | 403, _) => coded(
                Code::ServiceRejected,
                text,
                "check the target's access_key_id / secret_access_key secrets and the bucket's policy",
            ),
            _ => coded(
                Code::StorageFailed,
                text,
                "check the store's log; `mbt retry PIPELINE` resumes once it is fixed",
            ),
        }
    }

    /// Whether the bucket answers, for `mbt debug` (`s3://bucket/prefix at origin: ...`).
    fn bucket_health(&self, prefix: &str) -> anyhow::Result<String> {
        self.send("HEAD", "", &[], &[])?;
        Ok(format!(
            "s3://{}/{prefix} at {}: the bucket answers",
            self.bucket, self.origin
        ))
    }

    fn put_object(&self, key: &str, bytes: &[u8]) -> anyhow::Result<()> {
        self.send("PUT", key, &[], bytes).map(drop)
    }

    /// Writes `key` only if no object has it (`If-None-Match: *`); false when one had.
    fn put_if_absent(&self, key: &str, bytes: &[u8]) -> anyhow::Result<bool> {
        let answer = self.send_with("PUT", key, &[], &[("if-none-match", "*")], &[412], bytes)?;
        Ok(answer.status != 412)
    }

    /// The object's bytes, or `None` when there is no such key.
    fn get_if_present(&self, key: &str) -> anyhow::Result<Option<Vec<u8>>> {
        let answer = self.send_with("GET", key, &[], &[], &[404], &[])?;
        Ok((answer.status != 404).then_some(answer.body))
    }

    /// Every key under `prefix` (ListObjectsV2, page by page).
    fn list(&self, prefix: &str) -> anyhow::Result<Vec<String>> {
        let mut keys = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let mut query = vec![("list-type", "2"), ("prefix", prefix)];
            if let Some(token) = &token {
                query.push(("continuation-token", token.as_str()));
            }
            let answer = self.send("GET", "", &query, &[])?;
            let text = String::from_utf8_lossy(&answer.body).into_owned();
            keys.extend(elements(&text, "Key").into_iter().map(|key| unescape(&key)));
            token = (elements(&text, "IsTruncated").first().map(String::as_str) == Some("true"))
                .then(|| elements(&text, "NextContinuationToken").into_iter().next())
                .flatten();
            if token.is_none() {
                return Ok(keys);
            }
        }
    }
}

/// The texts of every `<name>` element of an XML document (S3's answers are flat enough).
fn elements(text: &str, name: &str) -> Vec<String> {
    let (open, close) = (format!("<{name}>"), format!("</{name}>"));
    let mut found = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find(&open) {
        rest = &rest[start + open.len()..];
        let Some(end) = rest.find(&close) else { break };
        found.push(rest[..end].to_string());
        rest = &rest[end + close.len()..];
    }
    found
}

/// XML's five entities.
fn unescape(text: &str) -> String {
    text.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&amp;", "&")
}

/// `<Code>` and `<Message>` of an S3 error document (a HEAD answer has none: its status).
fn error_code(body: &[u8]) -> (String, String) {
    let text = String::from_utf8_lossy(body);
    let element = |name: &str| {
        let open = format!("<{name}>");
        let close = format!("</{name}>");
        text.find(&open)
            .and_then(|start| {
                let rest = &text[start + open.len()..];
                rest.find(&close).map(|end| rest[..end].to_string())
            })
            .unwrap_or_default()
    };
    let code = element("Code");
    (
        if code.is_empty() {
            "(no error document)".into()
        } else {
            code
        },
        element("Message"),
    )
}

/// An artifact being written: the first [`PART_SIZE`] bytes are held; past them a multipart
/// upload starts and each full part goes out as it fills.
struct Upload<'a> {
    client: &'a Client,
    key: &'a str,
    buffer: Vec<u8>,
    upload_id: Option<String>,
    /// (part number, ETag).
    parts: Vec<(u32, String)>,
    /// The first failure, kept with its code (io::Write can only say "other").
    failed: Option<anyhow::Error>,
}

impl Upload<'_> {
    fn send_part(&mut self) -> anyhow::Result<()> {
        if self.upload_id.is_none() {
            let answer = self
                .client
                .send("POST", self.key, &[("uploads", "")], &[])?;
            let text = String::from_utf8_lossy(&answer.body).into_owned();
            let id = text
                .split_once("<UploadId>")
                .and_then(|(_, rest)| rest.split_once("</UploadId>"))
                .map(|(id, _)| id.to_string())
                .ok_or_else(|| {
                    anyhow::anyhow!("CreateMultipartUpload answered without an UploadId: {text}")
                })?;
            self.upload_id = Some(id);
        }
        let id = self.upload_id.clone().unwrap_or_default();
        let number = self.parts.len() as u32 + 1;
        let answer = self.client.send(
            "PUT",
            self.key,
            &[("partNumber", &number.to_string()), ("uploadId", &id)],
            &self.buffer,
        )?;
        let etag = answer
            .etag
            .ok_or_else(|| anyhow::anyhow!("UploadPart {number} answered without an ETag"))?;
        self.parts.push((number, etag));
        self.buffer.clear();
        Ok(())
    }

    /// Publishes the object: one PUT, or the last part and the completion.
    fn finish(mut self) -> anyhow::Result<()> {
        if let Some(error) = self.failed.take() {
            self.abort();
            return Err(error);
        }
        if self.upload_id.is_none() {
            return self.client.put_object(self.key, &self.buffer);
        }
        if !self.buffer.is_empty() {
            if let Err(error) = self.send_part() {
                self.abort();
                return Err(error);
            }
        }
        let id = self.upload_id.clone().unwrap_or_default();
        let parts: String = self
            .parts
            .iter()
            .map(|(number, etag)| {
                format!("<Part><PartNumber>{number}</PartNumber><ETag>{etag}</ETag></Part>")
            })
            .collect();
        let body = format!("<CompleteMultipartUpload>{parts}</CompleteMultipartUpload>");
        let completed = self
            .client
            .send("POST", self.key, &[("uploadId", &id)], body.as_bytes())
            .and_then(|answer| {
                // S3 may answer 200 with an error document once the parts are assembled.
                let text = String::from_utf8_lossy(&answer.body);
                match text.contains("<Error>") {
                    true => Err(anyhow::anyhow!(
                        "CompleteMultipartUpload failed: {}",
                        error_code(&answer.body).0
                    )),
                    false => Ok(()),
                }
            });
        if completed.is_err() {
            self.abort();
        }
        completed
    }

    /// Drops the parts of an upload that will not complete (best effort: the store's own
    /// lifecycle rules clean up what is left).
    fn abort(&self) {
        if let Some(id) = &self.upload_id {
            let _ = self
                .client
                .send("DELETE", self.key, &[("uploadId", id)], &[]);
        }
    }
}

impl Write for Upload<'_> {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        if self.failed.is_some() {
            return Err(std::io::Error::other("the upload failed"));
        }
        self.buffer.extend_from_slice(data);
        if self.buffer.len() >= PART_SIZE {
            if let Err(error) = self.send_part() {
                let message = format!("{error:#}");
                self.failed = Some(error);
                return Err(std::io::Error::other(message));
            }
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl S3Storage {
    fn key(&self, run_id: &str, step: &str, name: &str) -> String {
        under(&self.prefix, &format!("{run_id}/{step}/{name}"))
    }

    /// The key of an `s3://bucket/key` URI of this bucket.
    fn key_of<'u>(&self, uri: &'u str) -> anyhow::Result<&'u str> {
        uri.strip_prefix("s3://")
            .and_then(|rest| rest.strip_prefix(self.client.bucket.as_str()))
            .and_then(|rest| rest.strip_prefix('/'))
            .ok_or_else(|| {
                coded(
                    Code::StorageFailed,
                    format!("{uri} is not an object of bucket `{}`", self.client.bucket),
                    "the artifact was stored by another target: run the pipeline on this one",
                )
            })
    }
}

impl Adapter for S3Storage {}

impl Storage for S3Storage {
    fn uri(&self, run_id: &str, step: &str, name: &str) -> String {
        format!(
            "s3://{}/{}",
            self.client.bucket,
            self.key(run_id, step, name)
        )
    }

    fn put(&self, run_id: &str, step: &str, name: &str, data: &[u8]) -> anyhow::Result<String> {
        self.put_with(run_id, step, name, &mut |out| Ok(out.write_all(data)?))
    }

    fn put_with(
        &self,
        run_id: &str,
        step: &str,
        name: &str,
        write: &mut Writing<'_>,
    ) -> anyhow::Result<String> {
        if self.bucket_seen.get().is_none() {
            self.client.send("HEAD", "", &[], &[])?;
            let _ = self.bucket_seen.set(());
        }
        let key = self.key(run_id, step, name);
        let mut upload = Upload {
            client: &self.client,
            key: &key,
            buffer: Vec::new(),
            upload_id: None,
            parts: Vec::new(),
            failed: None,
        };
        if let Err(error) = write(&mut upload) {
            // The storage's own failure is the cause; the encoder only saw "the upload failed".
            let cause = upload.failed.take().unwrap_or(error);
            upload.abort();
            return Err(cause);
        }
        upload.finish()?;
        Ok(self.uri(run_id, step, name))
    }

    fn get(&self, uri: &str) -> anyhow::Result<Vec<u8>> {
        let key = self.key_of(uri)?;
        Ok(self.client.send("GET", key, &[], &[])?.body)
    }

    fn exists(&self, uri: &str) -> bool {
        self.key_of(uri)
            .and_then(|key| self.client.send("HEAD", key, &[], &[]))
            .is_ok()
    }

    fn health(&self) -> anyhow::Result<String> {
        self.client.bucket_health(&self.prefix)
    }
}
