//! The client against real HTTP servers on 127.0.0.1 (the testkit's `TestRegistry`), with
//! faults injected, credentials configured through real `.npmrc` files, and real attestations
//! and registry signatures made by the testkit's throwaway Sigstore instance.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::future::Future;
use std::time::{Duration, SystemTime};

use provdiff_attest::{PackageSubject, TrustMaterial, Verifier, parse_attestations};
use provdiff_core::Sha512;
use provdiff_registry::{
    Attestations, Cache, Client, ClientOptions, ConfigInputs, Error, FetchError, HttpOptions, Missing, Origin,
    PackageSpec, PackageVersion, RegistryConfig, SignatureOutcome, SignatureStatus, Transient,
};
use provdiff_testkit::{
    Fault, NPM_PUBLISH, ProvenanceSpec, Resource, SLSA_V1, SigstoreInstance, TestRegistry, TestVersion,
};

const NAME: &str = "@scope/widget";
const VERSION: &str = "1.2.3";

/// Short timeouts and delays so that faults resolve quickly.
fn fast() -> ClientOptions {
    ClientOptions {
        http: HttpOptions {
            connect_timeout: Duration::from_secs(2),
            read_timeout: Duration::from_millis(400),
            max_attempts: 3,
            initial_delay: Duration::from_millis(10),
            max_delay: Duration::from_millis(40),
            max_total: Duration::from_secs(20),
            max_retry_after: Duration::from_secs(5),
            ..HttpOptions::default()
        },
        ..ClientOptions::default()
    }
}

/// A home directory with an `.npmrc`, and a cache directory.
struct Setup {
    dir: tempfile::TempDir,
}

impl Setup {
    fn new(npmrc: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("home")).unwrap();
        std::fs::create_dir_all(dir.path().join("cwd")).unwrap();
        std::fs::write(dir.path().join("home/.npmrc"), npmrc).unwrap();
        Self { dir }
    }

    fn for_registry(registry: &TestRegistry) -> Self {
        Self::new(&format!("registry={}\n", registry.url()))
    }

    fn config_with_env(&self, env: &[(&str, &str)]) -> RegistryConfig {
        let mut vars: BTreeMap<String, String> = env.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        vars.insert("PATH".into(), self.dir.path().join("no-bin").display().to_string());
        vars.insert("PREFIX".into(), self.dir.path().join("no-prefix").display().to_string());
        RegistryConfig::resolve(&ConfigInputs {
            registry: None,
            env: vars,
            home: Some(self.dir.path().join("home")),
            cwd: self.dir.path().join("cwd"),
            ask_npm: false,
        })
        .unwrap()
    }

    fn cache_dir(&self) -> std::path::PathBuf {
        self.dir.path().join("cache")
    }

    fn client_with(&self, options: ClientOptions, env: &[(&str, &str)]) -> Client {
        Client::new(self.config_with_env(env), Cache::new(self.cache_dir()).unwrap(), options).unwrap()
    }

    fn client(&self, options: ClientOptions) -> Client {
        self.client_with(options, &[])
    }

    /// Tarball files in the cache (temporary files included).
    fn cached_tarball_files(&self) -> Vec<std::path::PathBuf> {
        let mut found = Vec::new();
        let mut stack = vec![self.cache_dir().join("tarballs")];
        while let Some(dir) = stack.pop() {
            let Ok(entries) = std::fs::read_dir(&dir) else { continue };
            for entry in entries {
                let path = entry.unwrap().path();
                if path.is_dir() { stack.push(path) } else { found.push(path) }
            }
        }
        found
    }
}

fn spec() -> PackageSpec {
    PackageSpec::parse(&format!("{NAME}@{VERSION}")).unwrap()
}

fn tarball() -> Vec<u8> {
    // Not a real tarball: the client never looks inside, it only hashes.
    (0..200_000u32).map(|i| (i * 7 % 251) as u8).collect()
}

/// A published version with real attestations (provenance and publish) and a registry signature.
fn signed_version(instance: &SigstoreInstance) -> TestVersion {
    let mut version = TestVersion::new(NAME, VERSION, tarball());
    let sha512 = version.sha512();
    let provenance = ProvenanceSpec::new(NAME, VERSION, sha512, "https://github.com/example/widget", &"a".repeat(40));
    let provenance = instance.sign_provenance(&provenance);
    let publish = instance.sign_publish(NAME, VERSION, &sha512, SystemTime::now() - Duration::from_secs(60));
    version.attestations =
        Some(SigstoreInstance::attestations_response(&[(SLSA_V1, &provenance), (NPM_PUBLISH, &publish)]));
    version.signatures = vec![instance.sign_registry_signature(NAME, VERSION, &version.integrity())];
    version
}

fn keys(instance: &SigstoreInstance, signatures_valid_until: Option<&str>) -> Vec<provdiff_attest::NpmKey> {
    provdiff_attest::parse_npm_keys(&instance.npm_keys_json_with(signatures_valid_until), "test keys").unwrap()
}

/// Runs a client call, turning a hang into a test failure rather than a stuck test.
async fn bounded<T>(future: impl Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(60), future).await.expect("the call finished")
}

async fn fetch(client: &Client) -> Result<PackageVersion, Error> {
    bounded(client.package_version(&spec())).await
}

#[tokio::test]
async fn fetches_a_version_its_attestations_and_signatures_then_serves_them_from_the_cache() {
    let instance = SigstoreInstance::new();
    let registry = TestRegistry::start();
    let version = signed_version(&instance);
    let expected_attestations = version.attestations.clone().unwrap();
    registry.publish(version.clone());
    let setup = Setup::for_registry(&registry);
    let reports = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let sink = {
        let reports = std::sync::Arc::clone(&reports);
        provdiff_core::ProgressSink::new(move |transferred| reports.lock().unwrap().push(transferred))
    };
    let options = ClientOptions { npm_keys: keys(&instance, None), tarball_progress: Some(sink), ..fast() };

    let client = setup.client(options.clone());
    let fetched = fetch(&client).await.unwrap();
    assert_eq!(fetched.tarball, version.tarball);
    // The download's progress counts up to the tarball's length, which the server announced.
    let reports = reports.lock().unwrap().clone();
    let size = version.tarball.len() as u64;
    assert_eq!(reports.first().map(|r| (r.bytes, r.total_bytes)), Some((0, Some(size))));
    assert_eq!(reports.last().map(|r| (r.bytes, r.total_bytes)), Some((size, Some(size))));
    assert_eq!(fetched.integrity, version.sha512());
    assert_eq!(std::fs::read(&fetched.tarball_path).unwrap(), version.tarball);
    assert_eq!(fetched.manifest["version"], VERSION);
    assert_eq!(fetched.attestations.body(), Some(expected_attestations.as_bytes()));
    assert_eq!(fetched.signatures.outcome, SignatureOutcome::Verified);
    assert_eq!(fetched.signatures.message, format!("{NAME}@{VERSION}:{}", version.integrity()));
    assert_eq!(
        (fetched.origins.packument, fetched.origins.tarball, fetched.origins.attestations),
        (Origin::Network, Origin::Network, Origin::Network)
    );
    // The scoped name is escaped in the packument URL, and the abbreviated document was asked for.
    let packument_requests = registry.requests_to("/@scope%2fwidget");
    assert_eq!(packument_requests.len(), 1);
    assert!(packument_requests[0].header("accept").unwrap().starts_with("application/vnd.npm.install-v1+json"));

    // The attestations verify with the real verifier against the instance's trust material.
    let trust = test_trust(&instance);
    let raw = parse_attestations(fetched.attestations.body().unwrap(), "registry").unwrap();
    let subject = PackageSubject { name: NAME.into(), version: VERSION.into(), sha512: fetched.integrity };
    let verification =
        Verifier::new(&trust).unwrap().verify(&raw, &subject, &provdiff_attest::IdentityPolicy::default());
    assert!(verification.is_verified(), "{:?}", verification.findings);
    client.keep_attestations(&fetched).unwrap();

    // A second client on the same cache sends nothing for the tarball or the attestations, which
    // were accepted and kept.
    let tarball_bytes = registry.bytes_sent_to(&version.tarball_path());
    let again = fetch(&setup.client(options)).await.unwrap();
    assert_eq!(again.tarball, version.tarball);
    assert_eq!(again.attestations, fetched.attestations);
    assert_eq!(
        (again.origins.packument, again.origins.tarball, again.origins.attestations),
        (Origin::Cache, Origin::Cache, Origin::Cache)
    );
    assert_eq!(registry.bytes_sent_to(&version.tarball_path()), tarball_bytes);
    assert_eq!(registry.requests().len(), 3);
}

#[tokio::test]
async fn a_404_for_attestations_is_an_outcome_and_is_cached_for_offline_use() {
    let registry = TestRegistry::start();
    registry.publish(TestVersion::new(NAME, VERSION, tarball()));
    let setup = Setup::for_registry(&registry);
    let fetched = fetch(&setup.client(fast())).await.unwrap();
    match &fetched.attestations {
        Attestations::Absent { url, advertised } => {
            assert_eq!(*url, format!("{}-/npm/v1/attestations/@scope%2fwidget@{VERSION}", registry.url()));
            assert!(!advertised);
        }
        other => panic!("expected no attestations, got {other:?}"),
    }
    assert_eq!(fetched.signatures.outcome, SignatureOutcome::Absent);

    let offline = fetch(&setup.client(ClientOptions { offline: true, ..fast() })).await.unwrap();
    assert!(matches!(offline.attestations, Attestations::Absent { .. }));
}

#[tokio::test]
async fn server_errors_are_retried_until_they_pass() {
    let registry = TestRegistry::start();
    let version = TestVersion::new(NAME, VERSION, tarball());
    registry.publish(version.clone());
    registry.fault("/@scope%2fwidget", Fault::Status(503), Some(1));
    registry.fault(&version.tarball_path(), Fault::Status(500), Some(2));
    let setup = Setup::for_registry(&registry);
    let fetched = fetch(&setup.client(fast())).await.unwrap();
    assert_eq!(fetched.tarball, version.tarball);
    assert_eq!(registry.requests_to("/@scope%2fwidget").len(), 2);
    assert_eq!(registry.requests_to(&version.tarball_path()).len(), 3);
}

#[tokio::test]
async fn persistent_server_errors_give_up_after_the_bounded_attempts() {
    let registry = TestRegistry::start();
    let version = TestVersion::new(NAME, VERSION, tarball());
    registry.publish(version.clone());
    registry.fault(&version.tarball_path(), Fault::Status(502), None);
    let setup = Setup::for_registry(&registry);
    let error = fetch(&setup.client(fast())).await.unwrap_err();
    match &error {
        Error::Fetch(FetchError::GaveUp { attempts: 3, last: Transient::Status { status: 502 }, .. }) => {}
        other => panic!("expected to give up after 3 attempts, got {other:?}"),
    }
    assert!(error.to_string().contains(&version.tarball_path()), "{error}");
    assert_eq!(registry.requests_to(&version.tarball_path()).len(), 3);
    assert!(setup.cached_tarball_files().is_empty());
}

#[tokio::test]
async fn too_many_requests_waits_as_long_as_retry_after_says() {
    let registry = TestRegistry::start();
    let version = TestVersion::new(NAME, VERSION, tarball());
    registry.publish(version.clone());
    registry.fault(&version.tarball_path(), Fault::TooManyRequests { retry_after: "1".into() }, Some(1));
    let setup = Setup::for_registry(&registry);
    fetch(&setup.client(fast())).await.unwrap();
    let requests = registry.requests_to(&version.tarball_path());
    assert_eq!(requests.len(), 2);
    // A lower bound only: the client must not come back before the registry allowed it.
    assert!(requests[1].at - requests[0].at >= Duration::from_millis(950), "{:?}", requests[1].at - requests[0].at);
}

#[tokio::test]
async fn a_retry_after_beyond_the_limit_fails_at_once() {
    let registry = TestRegistry::start();
    let version = TestVersion::new(NAME, VERSION, tarball());
    registry.publish(version.clone());
    registry.fault(&version.tarball_path(), Fault::TooManyRequests { retry_after: "3600".into() }, None);
    let setup = Setup::for_registry(&registry);
    let error = fetch(&setup.client(fast())).await.unwrap_err();
    assert!(matches!(error, Error::Fetch(FetchError::RetryAfterTooLong { .. })), "{error}");
    assert_eq!(registry.requests_to(&version.tarball_path()).len(), 1);
}

#[tokio::test]
async fn a_hanging_registry_times_out_with_a_clear_message() {
    let registry = TestRegistry::start();
    registry.publish(TestVersion::new(NAME, VERSION, tarball()));
    registry.fault("/@scope%2fwidget", Fault::Hang, None);
    let setup = Setup::for_registry(&registry);
    let error = fetch(&setup.client(fast())).await.unwrap_err();
    match &error {
        Error::Fetch(FetchError::GaveUp { attempts: 3, last: Transient::ReadTimeout { .. }, .. }) => {}
        other => panic!("expected a read timeout, got {other:?}"),
    }
    let message = error.to_string();
    assert!(message.contains("read timeout") && message.contains("/@scope%2fwidget"), "{message}");
}

#[tokio::test]
async fn a_refused_connection_is_a_network_error() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let setup = Setup::new(&format!("registry=http://127.0.0.1:{port}/\n"));
    let error = fetch(&setup.client(fast())).await.unwrap_err();
    assert!(matches!(error, Error::Fetch(FetchError::GaveUp { last: Transient::Connect { .. }, .. })), "{error}");
}

#[tokio::test]
async fn a_truncated_tarball_is_an_error_and_leaves_nothing_behind() {
    let registry = TestRegistry::start();
    let version = TestVersion::new(NAME, VERSION, tarball());
    registry.publish(version.clone());
    registry.fault(&version.tarball_path(), Fault::Truncate { keep: 1000 }, None);
    let setup = Setup::for_registry(&registry);
    let error = fetch(&setup.client(fast())).await.unwrap_err();
    assert!(matches!(error, Error::Fetch(FetchError::GaveUp { last: Transient::Body { .. }, .. })), "{error}");
    assert!(registry.bytes_sent_to(&version.tarball_path()) >= 3000, "the body was sent in part");
    assert!(setup.cached_tarball_files().is_empty(), "{:?}", setup.cached_tarball_files());

    // Once the registry behaves, the same cache gives the whole tarball.
    registry.clear_faults(&version.tarball_path());
    let fetched = fetch(&setup.client(fast())).await.unwrap();
    assert_eq!(fetched.tarball, version.tarball);
}

#[tokio::test]
async fn a_body_cut_short_once_is_retried() {
    let registry = TestRegistry::start();
    let version = TestVersion::new(NAME, VERSION, tarball());
    registry.publish(version.clone());
    registry.fault(&version.tarball_path(), Fault::Truncate { keep: 5 }, Some(1));
    let setup = Setup::for_registry(&registry);
    assert_eq!(fetch(&setup.client(fast())).await.unwrap().tarball, version.tarball);
    assert_eq!(registry.requests_to(&version.tarball_path()).len(), 2);
}

#[tokio::test]
async fn a_tarball_that_does_not_match_its_integrity_is_refused_and_not_cached() {
    let registry = TestRegistry::start();
    let mut version = TestVersion::new(NAME, VERSION, tarball());
    version.integrity = Some(Sha512::digest(b"what the packument promised").to_integrity());
    registry.publish(version.clone());
    let setup = Setup::for_registry(&registry);
    let error = fetch(&setup.client(fast())).await.unwrap_err();
    match &error {
        Error::IntegrityMismatch { expected, actual, received, .. } => {
            assert_eq!(*expected, version.integrity());
            assert_eq!(*actual, version.sha512().to_integrity());
            assert_eq!(*received, version.tarball.len() as u64);
        }
        other => panic!("expected an integrity mismatch, got {other:?}"),
    }
    assert_eq!(registry.requests_to(&version.tarball_path()).len(), 1, "a mismatch is not retried");
    assert!(setup.cached_tarball_files().is_empty());
    // Offline, the cache says precisely that the tarball is missing.
    let offline = fetch(&setup.client(ClientOptions { offline: true, ..fast() })).await.unwrap_err();
    match offline {
        Error::Offline { missing } => {
            assert!(missing.contains(&Missing::Tarball {
                spec: spec().to_string(),
                integrity: version.integrity(),
                corrupt: false
            }));
        }
        other => panic!("expected offline misses, got {other:?}"),
    }
}

#[tokio::test]
async fn a_damaged_cache_entry_is_never_trusted() {
    let registry = TestRegistry::start();
    let version = TestVersion::new(NAME, VERSION, tarball());
    registry.publish(version.clone());
    let setup = Setup::for_registry(&registry);
    let fetched = fetch(&setup.client(fast())).await.unwrap();
    // Damage the cached tarball as a crash or a full disk might: cut it short.
    std::fs::write(&fetched.tarball_path, &version.tarball[..version.tarball.len() / 2]).unwrap();

    let offline = fetch(&setup.client(ClientOptions { offline: true, ..fast() })).await.unwrap_err();
    match offline {
        Error::Offline { missing } => assert_eq!(
            missing,
            [Missing::Tarball { spec: spec().to_string(), integrity: version.integrity(), corrupt: true }]
        ),
        other => panic!("expected the damaged tarball to be reported, got {other:?}"),
    }
    let again = fetch(&setup.client(fast())).await.unwrap();
    assert_eq!(again.tarball, version.tarball);
    assert_eq!(again.origins.tarball, Origin::Network);
    assert_eq!(registry.requests_to(&version.tarball_path()).len(), 2);
}

#[tokio::test]
async fn credentials_are_not_sent_to_another_host_after_a_redirect_or_in_dist_tarball() {
    let registry = TestRegistry::start();
    let other = TestRegistry::start();
    let version = TestVersion::new(NAME, VERSION, tarball());
    registry.publish(version.clone());
    other.serve(&version.tarball_path(), Resource::new(200, "application/octet-stream", version.tarball.clone()));
    registry.fault(
        &version.tarball_path(),
        Fault::Redirect(format!("http://{}{}", other.addr(), version.tarball_path())),
        None,
    );
    let setup =
        Setup::new(&format!("registry={}\n{}:_authToken=${{REGISTRY_TOKEN}}\n", registry.url(), registry.nerf_dart()));
    let client = setup.client_with(fast(), &[("REGISTRY_TOKEN", "s3cret")]);
    let fetched = fetch(&client).await.unwrap();
    assert_eq!(fetched.tarball, version.tarball);

    for request in registry.requests() {
        assert_eq!(request.header("authorization"), Some("Bearer s3cret"), "{}", request.path);
    }
    let seen = other.requests();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].header("authorization"), None);

    // A dist.tarball on the other host directly gets no credentials either.
    let mut direct = TestVersion::new(NAME, "2.0.0", tarball());
    direct.tarball_url = Some(format!("http://{}{}", other.addr(), direct.tarball_path()));
    other.serve(&direct.tarball_path(), Resource::new(200, "application/octet-stream", direct.tarball.clone()));
    registry.publish(direct.clone());
    let spec = PackageSpec::parse(&format!("{NAME}@2.0.0")).unwrap();
    let fetched = bounded(client.package_version(&spec)).await.unwrap();
    assert_eq!(fetched.tarball, direct.tarball);
    assert!(other.requests().iter().all(|r| r.header("authorization").is_none()));
}

#[tokio::test]
async fn auth_failures_and_missing_packages_are_typed_and_name_the_url_without_secrets() {
    let registry = TestRegistry::start();
    let version = TestVersion::new(NAME, VERSION, tarball());
    registry.publish(version.clone());
    let setup = Setup::new(&format!("registry={}\n{}:_authToken=hunter2\n", registry.url(), registry.nerf_dart()));

    registry.fault("/@scope%2fwidget", Fault::Status(401), Some(1));
    let error = fetch(&setup.client(fast())).await.unwrap_err();
    assert!(matches!(error, Error::Fetch(FetchError::Unauthorized { sent_credentials: true, .. })), "{error}");
    let message = error.to_string();
    assert!(message.contains(&format!("{}@scope%2fwidget", registry.url())), "{message}");
    assert!(!message.contains("hunter2"), "{message}");

    registry.fault(&version.tarball_path(), Fault::Status(403), Some(1));
    let error = fetch(&setup.client(fast())).await.unwrap_err();
    assert!(matches!(error, Error::Fetch(FetchError::Forbidden { .. })), "{error}");
    assert_eq!(registry.requests_to(&version.tarball_path()).len(), 1, "403 is not retried");

    let anonymous = Setup::for_registry(&registry);
    registry.fault("/@scope%2fwidget", Fault::Status(401), Some(1));
    let error = fetch(&anonymous.client(fast())).await.unwrap_err();
    assert!(error.to_string().contains("no credentials are configured"), "{error}");

    let missing = PackageSpec::parse("not-published@1.0.0").unwrap();
    let error = bounded(setup.client(fast()).package_version(&missing)).await.unwrap_err();
    assert!(matches!(error, Error::PackageNotFound { .. }), "{error}");
    let unknown_version = PackageSpec::parse(&format!("{NAME}@9.9.9")).unwrap();
    let error = bounded(setup.client(fast()).package_version(&unknown_version)).await.unwrap_err();
    assert!(matches!(error, Error::VersionNotFound { .. }), "{error}");
}

#[tokio::test]
async fn offline_mode_reads_only_the_cache_and_lists_what_is_missing() {
    let instance = SigstoreInstance::new();
    let registry = TestRegistry::start();
    let version = signed_version(&instance);
    registry.publish(version.clone());
    let setup = Setup::for_registry(&registry);
    let offline = ClientOptions { offline: true, ..fast() };

    let error = fetch(&setup.client(offline.clone())).await.unwrap_err();
    match &error {
        Error::Offline { missing } => {
            assert!(matches!(missing.as_slice(), [Missing::Packument { name, .. }] if name == NAME), "{missing:?}")
        }
        other => panic!("expected offline misses, got {other:?}"),
    }
    assert!(error.to_string().contains("the packument of @scope/widget"), "{error}");
    assert!(registry.requests().is_empty());

    let client = setup.client(fast());
    client.keep_attestations(&fetch(&client).await.unwrap()).unwrap();
    let before = registry.requests().len();
    let cached = fetch(&setup.client(offline.clone())).await.unwrap();
    assert_eq!(cached.tarball, version.tarball);
    assert!(cached.attestations.body().is_some());
    assert_eq!(registry.requests().len(), before, "offline sends nothing");

    // Remove the tarball and the attestations: both are reported at once.
    std::fs::remove_file(&cached.tarball_path).unwrap();
    std::fs::remove_dir_all(setup.cache_dir().join("attestations")).unwrap();
    match fetch(&setup.client(offline)).await.unwrap_err() {
        Error::Offline { missing } => {
            assert_eq!(missing.len(), 2, "{missing:?}");
            assert!(matches!(missing[0], Missing::Tarball { corrupt: false, .. }));
            assert!(matches!(missing[1], Missing::Attestations { .. }));
        }
        other => panic!("expected offline misses, got {other:?}"),
    }
}

#[tokio::test]
async fn registry_signatures_are_reported_not_required() {
    let instance = SigstoreInstance::new();
    let registry = TestRegistry::start();
    let setup = Setup::for_registry(&registry);
    let fetch_with = |keys: Vec<provdiff_attest::NpmKey>| {
        let client = setup.client(ClientOptions { npm_keys: keys, packument_ttl: Duration::ZERO, ..fast() });
        async move { fetch(&client).await.unwrap() }
    };

    // A signature over another message does not verify.
    let mut version = signed_version(&instance);
    version.signatures = vec![instance.sign_registry_signature(NAME, "9.9.9", &version.integrity())];
    registry.publish(version.clone());
    let report = fetch_with(keys(&instance, None)).await.signatures;
    assert_eq!(report.outcome, SignatureOutcome::Failed);
    assert_eq!(report.signatures[0].status, SignatureStatus::Invalid);

    // A key nobody gave is unknown; without keys nothing is checked.
    let other = SigstoreInstance::new();
    version.signatures = vec![other.sign_registry_signature(NAME, VERSION, &version.integrity())];
    registry.publish(version.clone());
    let report = fetch_with(keys(&instance, None)).await.signatures;
    assert_eq!(report.signatures[0].status, SignatureStatus::UnknownKey);
    assert_eq!(fetch_with(Vec::new()).await.signatures.outcome, SignatureOutcome::NoKeys);

    // A key that expired before the publish time fails; one that expired after it verifies.
    // Either way the full packument is read for the publish time.
    version.signatures = vec![instance.sign_registry_signature(NAME, VERSION, &version.integrity())];
    version.published = Some("2024-06-01T12:00:00.000Z".into());
    registry.publish(version.clone());
    let full_requests = || {
        registry
            .requests_to("/@scope%2fwidget")
            .iter()
            .filter(|r| r.header("accept") == Some("application/json"))
            .count()
    };
    let before = full_requests();
    let report = fetch_with(keys(&instance, Some("2024-01-01T00:00:00Z"))).await.signatures;
    assert_eq!(report.outcome, SignatureOutcome::Failed);
    assert!(matches!(report.signatures[0].status, SignatureStatus::KeyExpired { .. }), "{report:?}");
    assert_eq!(report.published, Some("2024-06-01T12:00:00Z".parse().unwrap()));
    assert_eq!(full_requests(), before + 1);
    let report = fetch_with(keys(&instance, Some("2025-01-01T00:00:00Z"))).await.signatures;
    assert_eq!(report.outcome, SignatureOutcome::Verified);
}

#[tokio::test]
async fn a_packument_lacking_dist_falls_back_to_the_full_document() {
    let registry = TestRegistry::start();
    let mut version = TestVersion::new(NAME, VERSION, tarball());
    version.abbreviated_without_dist = true;
    registry.publish(version.clone());
    let setup = Setup::for_registry(&registry);
    let fetched = fetch(&setup.client(fast())).await.unwrap();
    assert_eq!(fetched.tarball, version.tarball);
    // Read from the full document, which carries the publish time.
    assert_eq!(fetched.published, Some("2024-06-01T12:00:00Z".parse().unwrap()));
    let accepts: Vec<String> = registry
        .requests_to("/@scope%2fwidget")
        .iter()
        .map(|r| r.header("accept").unwrap_or_default().to_string())
        .collect();
    assert_eq!(accepts.len(), 2);
    assert!(accepts[0].starts_with("application/vnd.npm.install-v1+json"));
    assert_eq!(accepts[1], "application/json");
}

#[tokio::test]
async fn stale_packuments_are_revalidated_and_new_versions_are_found() {
    let registry = TestRegistry::start();
    let version = TestVersion::new(NAME, VERSION, tarball());
    registry.publish(version.clone());
    let setup = Setup::for_registry(&registry);

    fetch(&setup.client(fast())).await.unwrap();
    // With no TTL the cached packument is revalidated: 304, no body.
    let stale = ClientOptions { packument_ttl: Duration::ZERO, ..fast() };
    let fetched = fetch(&setup.client(stale)).await.unwrap();
    assert_eq!(fetched.origins.packument, Origin::Revalidated);
    let requests = registry.requests_to("/@scope%2fwidget");
    assert!(requests[1].header("if-none-match").is_some());

    // A version published after the packument was cached (and within its TTL) is still found.
    let newer = TestVersion::new(NAME, "1.3.0", b"newer".to_vec());
    registry.publish(newer.clone());
    let spec = PackageSpec::parse(&format!("{NAME}@1.3.0")).unwrap();
    let fetched = bounded(setup.client(fast()).package_version(&spec)).await.unwrap();
    assert_eq!(fetched.tarball, newer.tarball);
}

#[tokio::test]
async fn proxies_are_used_unless_no_proxy_says_otherwise() {
    let registry = TestRegistry::start();
    let version = TestVersion::new(NAME, VERSION, tarball());
    registry.publish(version.clone());
    let setup = Setup::for_registry(&registry);

    // The test registry answers proxy-style requests too: a proxied request names the whole URL.
    let proxied = setup.client_with(fast(), &[("HTTP_PROXY", &registry.url())]);
    fetch(&proxied).await.unwrap();
    let targets: Vec<String> = registry.requests().iter().map(|r| r.target.clone()).collect();
    assert!(targets.iter().all(|t| t.starts_with("http://127.0.0.1:")), "{targets:?}");

    let before = registry.requests().len();
    let direct = setup.client_with(
        ClientOptions { packument_ttl: Duration::ZERO, ..fast() },
        &[("HTTP_PROXY", &registry.url()), ("no_proxy", "127.0.0.1")],
    );
    std::fs::remove_dir_all(setup.cache_dir()).unwrap();
    fetch(&direct).await.unwrap();
    let targets: Vec<String> = registry.requests()[before..].iter().map(|r| r.target.clone()).collect();
    assert!(!targets.is_empty() && targets.iter().all(|t| t.starts_with('/')), "{targets:?}");
}

#[tokio::test]
async fn two_clients_sharing_a_cache_both_get_whole_entries() {
    let registry = TestRegistry::start();
    let version = TestVersion::new(NAME, VERSION, tarball());
    registry.publish(version.clone());
    let setup = Setup::for_registry(&registry);
    let (first, second) = (setup.client(fast()), setup.client(fast()));
    let (a, b) = tokio::join!(fetch(&first), fetch(&second));
    assert_eq!(a.unwrap().tarball, version.tarball);
    assert_eq!(b.unwrap().tarball, version.tarball);
    let files = setup.cached_tarball_files();
    assert_eq!(files.len(), 1, "only the final entry remains: {files:?}");
    assert_eq!(std::fs::read(&files[0]).unwrap(), version.tarball);
}

#[tokio::test]
async fn a_transfer_too_slow_to_finish_is_cut_off_by_the_total_time_limit() {
    let registry = TestRegistry::start();
    let version = TestVersion::new(NAME, VERSION, tarball());
    registry.publish(version.clone());
    // Each byte arrives well within the read timeout, so only the total limit can stop it.
    registry.fault(&version.tarball_path(), Fault::Trickle { interval: Duration::from_millis(20) }, None);
    let setup = Setup::for_registry(&registry);
    let mut options = fast();
    options.http.max_total = Duration::from_secs(1);
    let error = fetch(&setup.client(options)).await.unwrap_err();
    assert!(matches!(error, Error::Fetch(FetchError::GaveUp { last: Transient::Deadline { .. }, .. })), "{error}");
    assert!(setup.cached_tarball_files().is_empty(), "{:?}", setup.cached_tarball_files());
}

#[tokio::test]
async fn a_cafile_is_loaded_and_a_bad_one_is_a_clear_error() {
    let instance = SigstoreInstance::new();
    let root: serde_json::Value = serde_json::from_str(&instance.trusted_root_json()).unwrap();
    let der = root["certificateAuthorities"][0]["certChain"]["certificates"][0]["rawBytes"].as_str().unwrap();
    let body: Vec<String> = der.as_bytes().chunks(64).map(|line| String::from_utf8(line.to_vec()).unwrap()).collect();
    let pem = format!("-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n", body.join("\n"));

    let setup = Setup::new("registry=http://127.0.0.1:1/\ncafile=ca.pem\n");
    let cwd = setup.dir.path().join("cwd");
    let config = || setup.config_with_env(&[]);
    let client = || Client::new(config(), Cache::new(setup.cache_dir()).unwrap(), fast());

    let error = client().unwrap_err();
    assert!(matches!(error, Error::CaFile { .. }), "{error}");
    assert!(error.to_string().contains(&cwd.join("ca.pem").display().to_string()), "{error}");

    std::fs::write(cwd.join("ca.pem"), "not a certificate\n").unwrap();
    let error = client().unwrap_err();
    assert!(matches!(error, Error::CaFilePem { .. }), "{error}");

    std::fs::write(cwd.join("ca.pem"), pem).unwrap();
    client().unwrap();
}

/// The embedded trust with the instance's trusted root and npm keys in place.
fn test_trust(instance: &SigstoreInstance) -> TrustMaterial {
    TrustMaterial::embedded()
        .unwrap()
        .with_trusted_root(&instance.trusted_root_json(), "test root")
        .unwrap()
        .with_npm_keys(&instance.npm_keys_json(), "test keys")
        .unwrap()
}

/// The attestations response of `version`, verified as `provdiff check` verifies it.
fn verifies(instance: &SigstoreInstance, fetched: &PackageVersion) -> bool {
    let trust = test_trust(instance);
    let Some(body) = fetched.attestations.body() else { return false };
    let Ok(raw) = parse_attestations(body, "registry") else { return false };
    let subject = PackageSubject { name: NAME.into(), version: VERSION.into(), sha512: fetched.integrity };
    Verifier::new(&trust).unwrap().verify(&raw, &subject, &provdiff_attest::IdentityPolicy::default()).is_verified()
}

#[tokio::test]
async fn a_response_the_caller_did_not_accept_is_asked_for_again() {
    let instance = SigstoreInstance::new();
    let registry = TestRegistry::start();
    let version = signed_version(&instance);
    registry.publish(version.clone());
    // Once, the registry (or something in between) answers with no attestations at all.
    registry.serve(&version.attestations_path(), Resource::json(r#"{"attestations":[]}"#));
    let setup = Setup::for_registry(&registry);
    let options = ClientOptions { npm_keys: keys(&instance, None), ..fast() };

    let first = fetch(&setup.client(options.clone())).await.unwrap();
    assert_eq!(first.attestations.body(), Some(&br#"{"attestations":[]}"#[..]));
    assert!(!verifies(&instance, &first), "nothing to accept");

    // Later the real response is served: the next run asks for it instead of reading the cache.
    registry.publish(version.clone());
    let client = setup.client(options.clone());
    let second = fetch(&client).await.unwrap();
    assert_eq!(second.origins.attestations, Origin::Network);
    assert!(verifies(&instance, &second));
    assert_eq!(registry.requests_to(&version.attestations_path()).len(), 2);

    // Once accepted and kept, it is served from the cache.
    client.keep_attestations(&second).unwrap();
    let third = fetch(&setup.client(options.clone())).await.unwrap();
    assert_eq!(third.origins.attestations, Origin::Cache);
    assert_eq!(third.attestations, second.attestations);
    assert_eq!(registry.requests_to(&version.attestations_path()).len(), 2);
}

#[tokio::test]
async fn a_mirror_without_attestations_does_not_hide_those_of_another_registry() {
    let instance = SigstoreInstance::new();
    let (mirror, registry) = (TestRegistry::start(), TestRegistry::start());
    let version = signed_version(&instance);
    // The mirror has the same tarball, but no attestations (404).
    mirror.publish(TestVersion { attestations: None, ..version.clone() });
    registry.publish(version.clone());
    let (via_mirror, via_registry) = (Setup::for_registry(&mirror), Setup::for_registry(&registry));
    let shared_cache = via_mirror.cache_dir();
    let client = |setup: &Setup, options: ClientOptions| {
        Client::new(setup.config_with_env(&[]), Cache::new(&shared_cache).unwrap(), options).unwrap()
    };

    let from_mirror = fetch(&client(&via_mirror, fast())).await.unwrap();
    assert!(matches!(from_mirror.attestations, Attestations::Absent { .. }));
    let from_registry = fetch(&client(&via_registry, fast())).await.unwrap();
    assert_eq!(from_registry.origins.attestations, Origin::Network);
    assert!(verifies(&instance, &from_registry), "{:?}", from_registry.attestations);

    // Online, a 404 is asked again every time; offline, the cache remembers it for that registry only.
    let again = fetch(&client(&via_mirror, fast())).await.unwrap();
    assert_eq!(again.origins.attestations, Origin::Network);
    assert_eq!(mirror.requests_to(&version.attestations_path()).len(), 2);
    let offline = ClientOptions { offline: true, ..fast() };
    let cached = fetch(&client(&via_mirror, offline.clone())).await.unwrap();
    assert!(matches!(cached.attestations, Attestations::Absent { .. }));
    match fetch(&client(&via_registry, offline.clone())).await.unwrap_err() {
        Error::Offline { missing } => {
            assert!(matches!(missing.as_slice(), [Missing::Attestations { .. }]), "{missing:?}")
        }
        other => panic!("the registry's attestations were never accepted, so not kept: {other:?}"),
    }
}
