//! `s3` storage against a real S3-compatible server (s3s-fs, SigV4 authentication on; a fresh
//! one per test on 127.0.0.1, killed when the test ends; `$MBT_S3_SERVER`, which scripts/test.sh
//! builds). The storage is built the way a run builds it: by the registry from a target's typed
//! settings, the keys through the `env` secrets provider.
//!
//! What they prove: small and multipart artifacts round-trip byte for byte; an object is not
//! visible before its upload completes, and a failed encoding leaves none; a connection cut in
//! the middle of an upload (a proxy on loopback cuts it) is retried and the artifact arrives
//! whole; a missing bucket is MBT4013 naming it, wrong keys MBT4020, a server that is down
//! MBT4019, and the secret key never shows.

#[path = "../../tests/util/s3.rs"]
mod server;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use mbt_contract::adapters::{S3Config, StorageSettings, TargetSettings};
use mbt_contract::secret::SecretRef;
use mbt_runtime::adapters::{Adapters, Registry};
use mbt_runtime::error::{code_of, Code};
use server::S3Server;

const BUCKET: &str = "mbt-artifacts";

fn config(endpoint: &str, bucket: &str) -> S3Config {
    S3Config {
        bucket: bucket.into(),
        region: None,
        endpoint: Some(endpoint.into()),
        prefix: Some("staging/artifacts".into()),
        path_style: None,
        access_key_id: Some(SecretRef::new("MBT_TEST_S3_ACCESS")),
        secret_access_key: Some(SecretRef::new("MBT_TEST_S3_SECRET")),
    }
}

fn adapters(config: S3Config, secret: &str) -> Adapters {
    let secret_var = format!("MBT_TEST_S3_SECRET_{}", secret.len());
    std::env::set_var("MBT_TEST_S3_ACCESS", server::ACCESS_KEY);
    std::env::set_var(&secret_var, secret);
    let mut config = config;
    config.secret_access_key = Some(SecretRef::new(secret_var));
    let mut settings = TargetSettings::embedded();
    settings.storage = StorageSettings::S3(config);
    Registry::builtin()
        .build(&settings, std::path::Path::new("."))
        .expect("adapters build")
}

fn start(test: &str) -> Option<S3Server> {
    let bin = server::bin_or_skip(test)?;
    Some(S3Server::start(&bin, &[BUCKET]))
}

/// Deterministic bytes that do not compress or repeat.
fn bytes(length: usize) -> Vec<u8> {
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    (0..length)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as u8
        })
        .collect()
}

fn code(error: &anyhow::Error) -> Code {
    code_of(error).expect("a coded error").0
}

#[test]
fn artifacts_round_trip_whole_and_appear_only_when_complete() {
    let Some(server) = start("s3 round trip") else {
        return;
    };
    let adapters = adapters(config(&server.endpoint, BUCKET), server::SECRET_KEY);
    let storage = &adapters.storage;
    assert!(storage.health().unwrap().contains("the bucket answers"));

    // A small artifact: one PUT, under the prefix.
    let small = b"{\"auc\": 0.85}".to_vec();
    let uri = storage
        .put("run_1", "evaluate", "metrics.json", &small)
        .unwrap();
    assert_eq!(
        uri,
        format!("s3://{BUCKET}/staging/artifacts/run_1/evaluate/metrics.json")
    );
    assert_eq!(uri, storage.uri("run_1", "evaluate", "metrics.json"));
    assert!(storage.exists(&uri));
    assert_eq!(storage.get(&uri).unwrap(), small);

    // A large one streams out in 8 MiB parts; until it completes there is no object.
    let large = bytes(20 * 1024 * 1024 + 123);
    let uri = storage.uri("run_1", "split_data", "train.parquet");
    let mut seen_early = None;
    storage
        .put_with("run_1", "split_data", "train.parquet", &mut |out| {
            out.write_all(&large[..9 * 1024 * 1024])?; // the first part is uploaded now
            seen_early = Some(storage.exists(&uri));
            out.write_all(&large[9 * 1024 * 1024..])?;
            Ok(())
        })
        .unwrap();
    assert_eq!(seen_early, Some(false));
    assert_eq!(storage.get(&uri).unwrap(), large);
    assert_eq!(
        server.keys(BUCKET),
        [
            "staging/artifacts/run_1/evaluate/metrics.json",
            "staging/artifacts/run_1/split_data/train.parquet"
        ]
    );

    // An encoding that fails halfway leaves no object (its parts are aborted).
    let uri = storage.uri("run_1", "transform", "big.parquet");
    let error = storage
        .put_with("run_1", "transform", "big.parquet", &mut |out| {
            out.write_all(&large[..17 * 1024 * 1024])?;
            anyhow::bail!("the encoder failed")
        })
        .unwrap_err();
    assert_eq!(format!("{error}"), "the encoder failed");
    assert!(!storage.exists(&uri));
    assert_eq!(server.keys(BUCKET).len(), 2);
}

/// A TCP proxy to `target` that cuts its first connection once `cut_after` bytes went from the
/// client to the server; later connections pass whole. Returns its port and how many
/// connections it cut.
fn cutting_proxy(target: u16, cut_after: usize) -> (u16, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let cuts = Arc::new(AtomicUsize::new(0));
    let cut = cuts.clone();
    std::thread::spawn(move || {
        for (index, client) in listener.incoming().flatten().enumerate() {
            let cut = cut.clone();
            let upstream = TcpStream::connect(("127.0.0.1", target)).unwrap();
            let limit = if index == 0 { Some(cut_after) } else { None };
            let (mut client_read, mut upstream_write) =
                (client.try_clone().unwrap(), upstream.try_clone().unwrap());
            let (mut upstream_read, mut client_write) = (upstream, client);
            std::thread::spawn(move || {
                let mut buffer = [0u8; 65536];
                let mut sent = 0;
                while let Ok(n) = client_read.read(&mut buffer) {
                    if n == 0 {
                        break;
                    }
                    if limit.is_some_and(|limit| sent + n > limit) {
                        // Cut both ways, mid-request.
                        cut.fetch_add(1, Ordering::SeqCst);
                        let _ = client_read.shutdown(std::net::Shutdown::Both);
                        let _ = upstream_write.shutdown(std::net::Shutdown::Both);
                        return;
                    }
                    sent += n;
                    if upstream_write.write_all(&buffer[..n]).is_err() {
                        break;
                    }
                }
                let _ = upstream_write.shutdown(std::net::Shutdown::Write);
            });
            std::thread::spawn(move || {
                let _ = std::io::copy(&mut upstream_read, &mut client_write);
                let _ = client_write.shutdown(std::net::Shutdown::Write);
            });
        }
    });
    (port, cuts)
}

#[test]
fn a_connection_cut_mid_upload_is_retried_and_the_artifact_arrives_whole() {
    let Some(server) = start("s3 retry") else {
        return;
    };
    // The cut falls inside the second part's body.
    let (port, cuts) = cutting_proxy(server.port, 12 * 1024 * 1024);
    let adapters = adapters(
        config(&format!("http://127.0.0.1:{port}"), BUCKET),
        server::SECRET_KEY,
    );
    let large = bytes(18 * 1024 * 1024);
    let uri = adapters
        .storage
        .put("run_2", "train_model", "model.bin", &large)
        .unwrap();
    assert_eq!(
        cuts.load(Ordering::SeqCst),
        1,
        "the proxy never cut the upload"
    );
    assert_eq!(adapters.storage.get(&uri).unwrap(), large);
}

#[test]
fn a_missing_bucket_wrong_keys_and_a_dead_server_are_coded() {
    let Some(server) = start("s3 failures") else {
        return;
    };
    let missing = adapters(
        config(&server.endpoint, "no-such-bucket"),
        server::SECRET_KEY,
    );
    let error = missing
        .storage
        .put("run_3", "load_data", "data.parquet", b"x")
        .unwrap_err();
    assert_eq!(code(&error), Code::StorageFailed, "{error:#}");
    assert!(format!("{error}").contains("NoSuchBucket"), "{error:#}");
    assert!(code_of(&error)
        .unwrap()
        .1
        .contains("create the bucket `no-such-bucket`"));
    let error = missing.storage.health().unwrap_err();
    assert_eq!(code(&error), Code::StorageFailed, "{error:#}");

    let wrong = adapters(config(&server.endpoint, BUCKET), "not-the-secret");
    let error = wrong
        .storage
        .put("run_3", "load_data", "data.parquet", b"x")
        .unwrap_err();
    assert_eq!(code(&error), Code::ServiceRejected, "{error:#}");
    assert!(!format!("{error:#}").contains("not-the-secret"));
    assert!(!format!("{error:#}").contains(server::SECRET_KEY));

    let endpoint = server.endpoint.clone();
    drop(server);
    let dead = adapters(config(&endpoint, BUCKET), server::SECRET_KEY);
    let error = dead
        .storage
        .put("run_3", "load_data", "data.parquet", b"x")
        .unwrap_err();
    assert_eq!(code(&error), Code::ServiceUnreachable, "{error:#}");
    assert!(format!("{error}").contains(&endpoint), "{error:#}");
    assert!(!dead.storage.exists(&format!(
        "s3://{BUCKET}/staging/artifacts/run_3/load_data/data.parquet"
    )));
}

#[test]
fn runs_and_predictions_live_in_the_bucket_too() {
    use mbt_contract::adapters::{RegistrySettings, WriterSettings};
    use mbt_runtime::adapters::{RunFilter, RunRecord};
    let Some(server) = start("s3 registry") else {
        return;
    };
    std::env::set_var("MBT_TEST_S3_ACCESS", server::ACCESS_KEY);
    std::env::set_var("MBT_TEST_S3_SECRET", server::SECRET_KEY);
    let mut runs = config(&server.endpoint, BUCKET);
    runs.prefix = Some("registry".into());
    let mut published = config(&server.endpoint, BUCKET);
    published.prefix = Some("predictions".into());
    let mut settings = TargetSettings::embedded();
    settings.model_registry = RegistrySettings::S3(runs);
    settings.output_writer = WriterSettings::S3(published);
    let adapters = Registry::builtin()
        .build(&settings, std::path::Path::new("."))
        .unwrap();
    let registry = &adapters.model_registry;
    let record = |run: &str, at: &str| RunRecord {
        run_id: run.into(),
        pipeline: "churn".into(),
        recorded_at: Some(at.into()),
        ..RunRecord::default()
    };
    let logged = registry
        .log_run(
            &record("run_a", "2026-01-01T00:00:00Z"),
            &[("model.json".into(), b"{\"a\": 1}".to_vec())],
        )
        .unwrap();
    assert_eq!(
        logged.artifacts["model.json"],
        format!("s3://{BUCKET}/registry/run_a/artifacts/model.json")
    );
    registry
        .log_run(&record("run_b", "2026-02-01T00:00:00Z"), &[])
        .unwrap();
    assert_eq!(registry.load_run("run_a").unwrap(), logged);
    assert_eq!(
        registry.load_artifact("run_a", "model.json").unwrap(),
        b"{\"a\": 1}"
    );
    assert_eq!(
        registry
            .latest_run(RunFilter::Pipeline("churn"))
            .unwrap()
            .run_id,
        "run_b"
    );
    let error = registry.load_run("run_z").unwrap_err();
    assert_eq!(code(&error), Code::RunNotFound);
    assert!(registry.health().unwrap().contains("2 run(s) recorded"));
    // Versions are claimed one after another; the alias follows the newest.
    assert_eq!(
        registry
            .register_model(&logged, "churn", Some("champion"))
            .unwrap(),
        "1"
    );
    assert_eq!(
        registry
            .register_model(&record("run_b", "x"), "churn", Some("champion"))
            .unwrap(),
        "2"
    );
    assert_eq!(
        registry.resolve_alias("churn", "champion").unwrap(),
        "run_b"
    );
    assert_eq!(
        code(&registry.resolve_alias("churn", "staging").unwrap_err()),
        Code::RunNotFound
    );

    // Predictions: an object per table, CSV or Parquet by its name.
    let frame = polars::df!("customer_id" => ["C1", "C2"], "p" => [0.25, 0.75]).unwrap();
    let uri = adapters
        .output_writer
        .write("churn.csv", &frame, "run_c")
        .unwrap();
    assert_eq!(uri, format!("s3://{BUCKET}/predictions/churn.csv"));
    assert_eq!(
        std::fs::read_to_string(server.bucket_folder(BUCKET).join("predictions/churn.csv"))
            .unwrap(),
        "customer_id,p\nC1,0.25\nC2,0.75\n"
    );
}
