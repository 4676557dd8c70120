//! The `civicpay` binary as a city's staff would run it.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

struct DataDir(PathBuf);

impl DataDir {
    fn new(name: &str) -> DataDir {
        let dir = std::env::temp_dir().join(format!("civicpay-cli-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        DataDir(dir)
    }

    fn civicpay(&self, args: &[&str]) -> Output {
        self.civicpay_with(args, &[])
    }

    /// As [`DataDir::civicpay`], with more settings in the environment.
    fn civicpay_with(&self, args: &[&str], env: &[(&str, &str)]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_civicpay"))
            .args(args)
            .env_remove("DATABASE_URL")
            .env("CIVICPAY_DATA_DIR", &self.0)
            .env("CIVICPAY_LOG", "warn")
            .envs(env.iter().copied())
            .output()
            .unwrap()
    }

    fn write(&self, name: &str, contents: &str) -> String {
        let path = self.0.join(name);
        std::fs::write(&path, contents).unwrap();
        path.display().to_string()
    }

    fn path(&self) -> &Path {
        &self.0
    }

    /// Where saved-card keys go by default: beside the data folder.
    fn vault_keys(&self) -> PathBuf {
        let name = self.0.file_name().unwrap().to_string_lossy().into_owned();
        self.0.with_file_name(format!("{name}-vault-keys"))
    }
}

impl Drop for DataDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
        let _ = std::fs::remove_dir_all(self.vault_keys());
    }
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

const GOOD: &str =
    "external_id,bill_type,reference,verification,payer_name,postal_address,email,amount,due_date
W-1,water,3000-00001,62704,Ana Diaz,1 Elm St,ana@example.org,84.20,2026-12-15
W-2,water,3000-00002,62701,Bo Li,2 Elm St,,12.00,2026-12-15
P-1,parking,PK-2026-100001,XYZ 123,Cy Roy,3 Oak Dr,,35.00,2026-12-01
";

#[test]
fn importing_a_csv_twice_changes_nothing_the_second_time() {
    let dir = DataDir::new("import");
    let seeded = dir.civicpay(&["demo", "--no-serve"]);
    assert!(seeded.status.success(), "{}", text(&seeded.stderr));
    assert!(text(&seeded.stdout).contains("/springfield/"));
    let file = dir.write("bills.csv", GOOD);
    let first = dir.civicpay(&["bills", "import", "--tenant", "springfield", &file]);
    assert!(first.status.success(), "{}", text(&first.stderr));
    assert!(
        text(&first.stdout).contains("3 records"),
        "{}",
        text(&first.stdout)
    );
    assert!(text(&first.stdout).contains("3 new, 0 updated, 0 unchanged"));
    let second = dir.civicpay(&["bills", "import", "--tenant", "springfield", &file]);
    assert!(
        text(&second.stdout).contains("0 new, 0 updated, 3 unchanged"),
        "{}",
        text(&second.stdout)
    );
    assert!(dir.path().join("portal.db").exists());
}

#[test]
fn a_bad_file_is_refused_with_every_problem_located() {
    let dir = DataDir::new("bad");
    assert!(dir.civicpay(&["demo", "--no-serve"]).status.success());
    let bad = GOOD
        .replace("84.20", "\"84,20\"")
        .replace("2026-12-01", "tomorrow");
    let file = dir.write("bad.csv", &bad);
    let out = dir.civicpay(&["bills", "import", "--tenant", "springfield", &file]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("line 2, column amount:"), "{stderr}");
    assert!(stderr.contains("line 4, column due_date:"), "{stderr}");
    assert!(
        stderr.contains("nothing imported: 2 of 3 records are invalid"),
        "{stderr}"
    );

    let skipped = dir.civicpay(&[
        "bills",
        "import",
        "--skip-invalid",
        "--tenant",
        "springfield",
        &file,
    ]);
    assert!(skipped.status.success());
    assert!(text(&skipped.stdout).contains("1 new, 0 updated, 0 unchanged, 2 skipped as invalid"));
}

#[test]
fn mistakes_on_the_command_line_get_clear_messages() {
    let dir = DataDir::new("mistakes");
    assert!(dir.civicpay(&["demo", "--no-serve"]).status.success());
    let file = dir.write("bills.csv", GOOD);
    let unknown = dir.civicpay(&["bills", "import", "--tenant", "gotham", &file]);
    assert!(!unknown.status.success());
    assert!(
        text(&unknown.stderr)
            .contains("no city \"gotham\" on this deployment (known: lac-vert, springfield)")
    );
    let no_ext = dir.write("bills.txt", GOOD);
    let format = dir.civicpay(&["bills", "import", "--tenant", "springfield", &no_ext]);
    assert!(text(&format.stderr).contains("add --format csv or --format json"));
    let missing = dir.civicpay(&[
        "bills",
        "import",
        "--tenant",
        "springfield",
        "/no/such/file.csv",
    ]);
    assert!(text(&missing.stderr).contains("cannot open /no/such/file.csv"));
    let bad_url = dir.civicpay(&["migrate", "--database-url", "mysql://root@localhost/x"]);
    assert!(text(&bad_url.stderr).contains("unsupported database URL mysql://localhost"));
}

#[test]
fn help_documents_the_import_format() {
    let dir = DataDir::new("help");
    let help = text(&dir.civicpay(&["bills", "import", "--help"]).stdout);
    for column in [
        "external_id",
        "verification",
        "due_date",
        "line_items",
        "--skip-invalid",
    ] {
        assert!(help.contains(column), "--help lacks {column}");
    }
}

#[test]
fn an_api_key_is_printed_once_and_works_for_its_city() {
    let dir = DataDir::new("apikey");
    assert!(dir.civicpay(&["demo", "--no-serve"]).status.success());
    let out = dir.civicpay(&["api-key", "create", "--tenant", "lac-vert"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let key = text(&out.stdout);
    assert!(key.trim().starts_with("cpk_") && key.trim().len() > 40);
    let list = text(&dir.civicpay(&["city", "list"]).stdout);
    assert!(
        list.contains("lac-vert\tCAD\tAmerica/Toronto\tVille de Lac-Vert"),
        "{list}"
    );
}

#[test]
fn the_readme_documents_every_test_card() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../README.md")).unwrap();
    for (number, _, what) in civicpay_acquirer_sim::TEST_CARDS {
        let row = readme
            .lines()
            .find(|l| l.starts_with(&format!("| {number} |")));
        assert!(
            row.is_some_and(|r| r.contains(what)),
            "README lacks the row for {number} ({what})"
        );
    }
}

/// Runs store calls from a synchronous test, against the data folder's
/// SQLite file, as someone with access to the database would.
fn with_store<T>(dir: &DataDir, f: impl AsyncFnOnce(civicpay_store::Store) -> T) -> T {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let url = format!("sqlite://{}", dir.path().join("portal.db").display());
        let store = civicpay_store::Store::connect(&url).await.unwrap();
        let out = f(store.clone()).await;
        store.close().await;
        out
    })
}

#[test]
fn audit_verify_passes_a_clean_log_and_catches_a_rewritten_one() {
    use civicpay_audit::{Action, ChainId, NewEntry};
    let dir = DataDir::new("audit");
    let seeded = dir.civicpay(&["demo", "--no-serve"]);
    assert!(seeded.status.success(), "{}", text(&seeded.stderr));
    // The platform's chain holds the demo's two cities, then these five.
    with_store(&dir, async |store| {
        for i in 0..5 {
            store
                .append_audit(NewEntry::new(
                    ChainId::Platform,
                    "cli",
                    Action::TenantCreated,
                    format!("tenant:{i}"),
                    serde_json::json!({}),
                ))
                .await
                .unwrap();
        }
    });
    let empty_city = dir.civicpay(&["audit", "checkpoint", "--tenant", "springfield"]);
    assert!(!empty_city.status.success());
    assert!(
        text(&empty_city.stderr).contains("empty"),
        "{}",
        text(&empty_city.stderr)
    );

    let checkpoint = dir.civicpay(&["audit", "checkpoint"]);
    assert!(checkpoint.status.success(), "{}", text(&checkpoint.stderr));
    assert!(
        text(&checkpoint.stdout).contains("\"seq\":7"),
        "{}",
        text(&checkpoint.stdout)
    );
    let clean = dir.civicpay(&["audit", "verify"]);
    assert!(
        clean.status.success(),
        "{}{}",
        text(&clean.stdout),
        text(&clean.stderr)
    );
    assert!(text(&clean.stdout).contains("ok      platform: 7 entries, 1 checkpoints held"));

    // Remove the last two entries and rewind the head: only the signed
    // checkpoint, kept outside the database, still knows.
    with_store(&dir, async |store| {
        civicpay_store::testing::execute_behind_the_back(
            &store,
            "DROP TRIGGER audit_entries_no_delete; \
             DELETE FROM audit_entries WHERE chain = 'platform' AND seq > 5; \
             UPDATE audit_heads SET seq = 5, hash = (SELECT hash FROM audit_entries WHERE chain = 'platform' AND seq = 5) WHERE chain = 'platform';",
        )
        .await
        .unwrap();
    });
    let caught = dir.civicpay(&["audit", "verify"]);
    assert_eq!(caught.status.code(), Some(1));
    let report = text(&caught.stdout);
    assert!(report.contains("BROKEN  platform"), "{report}");
    assert!(
        report.contains("entry 7: recorded by the signed checkpoint but the log ends at entry 5"),
        "{report}"
    );

    // A checkpoint file from someone else's key is refused, not trusted.
    let forged = dir.write(
        "forged.jsonl",
        &civicpay_audit::CheckpointKey::from_seed(&[1; 32])
            .sign(
                &ChainId::Platform,
                3,
                civicpay_audit::ChainHash([0; 32]),
                jiff::Timestamp::now(),
            )
            .to_line(),
    );
    let refused = dir.civicpay(&["audit", "verify", "--checkpoints", &forged]);
    assert!(!refused.status.success());
    assert!(
        text(&refused.stderr).contains("signature does not verify"),
        "{}",
        text(&refused.stderr)
    );
}

/// Seeds pay's database in the data folder with card attempts: who, when,
/// through which build.
/// (city, name, address, e-mail, language, time, build)
type SeededAttempt<'a> = (
    &'a str,
    &'a str,
    &'a str,
    Option<&'a str>,
    &'a str,
    &'a str,
    &'a str,
);

fn seed_attempts(dir: &DataDir, attempts: &[SeededAttempt<'_>]) {
    use civicpay_store::pay::{CardAttempt, Created, Merchant, NewPayment, PayStore};
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let portal = civicpay_store::Store::connect(&format!(
            "sqlite://{}",
            dir.path().join("portal.db").display()
        ))
        .await
        .unwrap();
        let pay = PayStore::connect(&format!(
            "sqlite://{}?mode=rwc",
            dir.path().join("pay.db").display()
        ))
        .await
        .unwrap();
        pay.migrate().await.unwrap();
        for t in portal.list_tenants().await.unwrap() {
            pay.upsert_merchant(&Merchant {
                tenant_id: t.id.clone(),
                slug: t.slug.clone(),
                name: t.name.get(t.default_language).to_owned(),
                currency: t.currency,
                return_origins: vec!["https://city.example".into()],
                suspended: false,
            })
            .await
            .unwrap();
        }
        for &(city, name, address, email, language, at, build) in attempts {
            let tenant = portal
                .tenant_by_slug(&civicpay_core::TenantSlug::parse(city).unwrap())
                .await
                .unwrap()
                .unwrap();
            let Created::New { payment, .. } = pay
                .create_payment(
                    &NewPayment {
                        id: civicpay_core::PaymentId::generate(),
                        tenant_id: tenant.id.clone(),
                        amount: civicpay_core::Money::from_minor(3_500, tenant.currency),
                        reference: format!("PK-{name}"),
                        description: "Parking citation".into(),
                        return_url: "https://city.example/return".into(),
                        email: email.map(Into::into),
                        language: civicpay_core::Language::parse(language).unwrap(),
                        metadata: serde_json::json!({}),
                        channel: civicpay_core::payment::Channel::Web,
                        expires_at: jiff::Timestamp::now() + jiff::SignedDuration::from_hours(1),
                        allocations: vec![],
                        fee: None,
                        payer_name: Some(name.into()),
                        payer_address: Some(address.into()),
                        customer: None,
                        probe: false,
                    },
                    &uuid_like(),
                    None,
                    |_| (201, String::new()),
                )
                .await
                .unwrap()
            else {
                panic!("created")
            };
            pay.record_card_attempt(
                &tenant.id,
                &CardAttempt {
                    payment_id: payment.id.to_string(),
                    at: at.parse().unwrap(),
                    build_id: build.into(),
                    channel: "web".into(),
                    amount: 3_500,
                    currency: tenant.currency.code().into(),
                    language: language.into(),
                    cardholder_name: name.into(),
                    postal_code: "62704".into(),
                    email: email.map(Into::into),
                    card_brand: Some("visa".into()),
                    card_last4: Some("4242".into()),
                    elements: "name,card_number,expiry,security_code,postal_code".into(),
                },
            )
            .await
            .unwrap();
        }
        pay.close().await;
        portal.close().await;
    });
}

fn uuid_like() -> String {
    format!(
        "seed-{}",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    )
}

fn pdf_text(path: &Path) -> String {
    let out = Command::new("pdftotext")
        .arg(path)
        .arg("-")
        .output()
        .expect("pdftotext (Debian's poppler-utils) turns the letters into text for this test");
    assert!(out.status.success());
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn incident_scope_lists_exactly_who_typed_in_the_window_and_letters_are_written() {
    let dir = DataDir::new("incident");
    assert!(dir.civicpay(&["demo", "--no-serve"]).status.success());
    seed_attempts(
        &dir,
        &[
            (
                "springfield",
                "Ana Diaz",
                "1 Elm St, Springfield, IL 62704",
                Some("ana@example.org"),
                "en",
                "2026-10-05T15:00:00Z",
                "b1",
            ),
            (
                "springfield",
                "Ana Diaz",
                "1 Elm St, Springfield, IL 62704",
                Some("ana@example.org"),
                "en",
                "2026-10-05T15:01:00Z",
                "b1",
            ),
            (
                "springfield",
                "Luis Muñoz",
                "9 Pine Rd, Springfield, IL 62701",
                None,
                "es",
                "2026-11-02T18:30:00Z",
                "b1",
            ),
            (
                "springfield",
                "Early Bird",
                "5 Oak Dr, Springfield",
                None,
                "en",
                "2026-09-30T04:59:59Z",
                "b1",
            ),
            (
                "lac-vert",
                "Élise Côté",
                "12 rue du Lac, Lac-Vert",
                None,
                "fr",
                "2026-10-10T12:00:00Z",
                "b1",
            ),
        ],
    );
    let scope_file = dir.path().join("scope.json");
    let scope = dir.civicpay(&[
        "incident",
        "scope",
        "--tenant",
        "springfield",
        "--from",
        "2026-10-01",
        "--to",
        "2026-11-18",
        "--format",
        "json",
        "--out",
        scope_file.to_str().unwrap(),
    ]);
    assert!(scope.status.success(), "{}", text(&scope.stderr));
    assert!(
        text(&scope.stderr).contains("2 people, 3 card attempts (web 3)"),
        "{}",
        text(&scope.stderr)
    );
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&scope_file).unwrap()).unwrap();
    let names: Vec<&str> = report["people"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        ["Ana Diaz", "Luis Muñoz"],
        "not Early Bird (before the window), not the other city"
    );
    assert_eq!(report["people"][0]["attempts"], 2);

    let csv = dir.civicpay(&[
        "incident",
        "scope",
        "--tenant",
        "springfield",
        "--build",
        "b1",
    ]);
    let csv = text(&csv.stdout);
    assert!(csv.starts_with("person,payer_name,"), "{csv}");
    assert_eq!(
        csv.lines().count(),
        5,
        "a header and every attempt of the build: {csv}"
    );
    let none = dir.civicpay(&[
        "incident",
        "scope",
        "--tenant",
        "springfield",
        "--build",
        "other",
    ]);
    assert_eq!(text(&none.stdout).lines().count(), 1);
    let bad = dir.civicpay(&[
        "incident",
        "scope",
        "--tenant",
        "springfield",
        "--from",
        "2026-10-01",
    ]);
    assert!(!bad.status.success());

    let incident = dir.write(
        "incident.toml",
        "discovered_on = 2026-11-20\n\
         what_happened = \"On November 19 we found that code on our payment page had been changed to copy card details.\"\n\
         what_we_are_doing = \"We took the page offline, restored it and asked card networks to watch the affected cards.\"\n\
         contact_phone = \"217-555-0100\"\n\
         steps_taken = [\"Payment page taken offline\", \"Police informed\"]\n",
    );
    let out = dir.path().join("notices");
    let letters = dir.civicpay(&[
        "incident",
        "letters",
        "--scope",
        scope_file.to_str().unwrap(),
        "--incident",
        &incident,
        "--template",
        "california",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(letters.status.success(), "{}", text(&letters.stderr));
    let mut files: Vec<_> = std::fs::read_dir(out.join("letters"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .collect();
    files.sort();
    assert_eq!(files.len(), 2);
    let english = pdf_text(&files[0]);
    for heading in [
        "Notice of Data Breach",
        "What Happened",
        "What Information Was Involved",
        "What We Are Doing",
        "What You Can Do",
        "For More Information",
    ] {
        assert!(english.contains(heading), "{heading} in {english}");
    }
    assert!(
        english.contains("Ana Diaz")
            && english.contains("4242")
            && english.contains("security freeze"),
        "{english}"
    );
    assert!(english.contains("217-555-0100"));
    let spanish = pdf_text(&files[1]);
    assert!(
        spanish.contains("Aviso de violación de datos")
            && spanish.contains("Luis Muñoz")
            && spanish.contains("4242"),
        "{spanish}"
    );
    let mailing = std::fs::read_to_string(out.join("mailing.csv")).unwrap();
    assert_eq!(mailing.lines().count(), 3);
    assert!(mailing.contains("\"1 Elm St, Springfield, IL 62704\""));
    let record = std::fs::read_to_string(out.join("breach-record.txt")).unwrap();
    assert!(
        record.contains("Number of people affected: 2") && record.contains("Police informed"),
        "{record}"
    );

    let broken = dir.write("broken.toml", "what_happened = \"x\"\n");
    let refused = dir.civicpay(&[
        "incident",
        "letters",
        "--scope",
        scope_file.to_str().unwrap(),
        "--incident",
        &broken,
        "--template",
        "generic",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(!refused.status.success());
    assert!(
        text(&refused.stderr).contains("missing field"),
        "{}",
        text(&refused.stderr)
    );
}

#[test]
fn keys_rotate_reseals_saved_cards_and_deletes_the_old_key() {
    use civicpay_pay::vault::Vault;
    use civicpay_store::pay::PayStore;
    use civicpay_vault::{CardNumber, Expiry, FingerprintKey};
    let dir = DataDir::new("keys");
    let seeded = dir.civicpay(&["demo", "--no-serve"]);
    assert!(seeded.status.success(), "{}", text(&seeded.stderr));
    // `keys rotate` also readies pay's database; run it once with no card.
    let empty = dir.civicpay(&["keys", "rotate", "--tenant", "springfield"]);
    assert!(empty.status.success(), "{}", text(&empty.stderr));
    let keys = dir.vault_keys();
    assert!(
        !keys.starts_with(dir.path()),
        "saved-card keys live outside the data folder by default"
    );
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let open_vault = || async {
        let pay = PayStore::connect(&format!("sqlite://{}", dir.path().join("pay.db").display()))
            .await
            .unwrap();
        let portal = civicpay_store::Store::connect(&format!(
            "sqlite://{}",
            dir.path().join("portal.db").display()
        ))
        .await
        .unwrap();
        let tenant = portal
            .tenant_by_slug(&civicpay_core::TenantSlug::parse("springfield").unwrap())
            .await
            .unwrap()
            .unwrap();
        (Vault::new(pay, keys.clone()), tenant.id)
    };
    let tokens = runtime.block_on(async {
        let (vault, tenant) = open_vault().await;
        let mut tokens = Vec::new();
        for _ in 0..5 {
            let card = CardNumber::parse("4242 4242 4242 4242").unwrap();
            let expiry = Expiry::parse("12/30", jiff::civil::date(2026, 11, 23)).unwrap();
            let print = FingerprintKey::new([1; 32]).fingerprint(&card);
            let saved = vault
                .save(&tenant, "resident", &card, expiry, &print)
                .await
                .unwrap();
            tokens.push(saved.token);
        }
        tokens
    });
    let city_keys = std::fs::read_dir(&keys)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let before = std::fs::read_to_string(city_keys.join("current")).unwrap();

    let rotated = dir.civicpay(&["keys", "rotate", "--tenant", "springfield", "--batch", "2"]);
    assert!(rotated.status.success(), "{}", text(&rotated.stderr));
    let out = text(&rotated.stdout);
    assert!(out.contains("5 cards re-sealed"), "{out}");
    assert!(
        out.contains(before.trim()),
        "the old KEK is named as deleted: {out}"
    );
    assert!(!city_keys.join(format!("{}.kek", before.trim())).exists());
    runtime.block_on(async {
        let (vault, tenant) = open_vault().await;
        for token in &tokens {
            let (_, number) = vault.open(&tenant, "resident", token).await.unwrap();
            assert_eq!(number.last4(), "4242");
        }
    });
    // The rotation is in the city's audit log, and the log still verifies.
    let entries = with_store(&dir, async |store| {
        let tenant = store
            .tenant_by_slug(&civicpay_core::TenantSlug::parse("springfield").unwrap())
            .await
            .unwrap()
            .unwrap();
        store
            .audit_entries(
                &civicpay_audit::ChainId::Tenant(tenant.id),
                &civicpay_store::audit_log::AuditFilter {
                    action: Some("vault.keys_rotated".into()),
                    limit: 10,
                    ..Default::default()
                },
            )
            .await
            .unwrap()
    });
    assert_eq!(entries.len(), 2, "both rotations are in the log");
    let verified = dir.civicpay(&["audit", "verify"]);
    assert!(verified.status.success(), "{}", text(&verified.stdout));
    let unknown = dir.civicpay(&["keys", "rotate", "--tenant", "atlantis"]);
    assert!(!unknown.status.success());
    assert!(
        text(&unknown.stderr).contains("atlantis"),
        "{}",
        text(&unknown.stderr)
    );
}

fn with_pay<T>(dir: &DataDir, f: impl AsyncFnOnce(civicpay_store::pay::PayStore) -> T) -> T {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let url = format!("sqlite://{}", dir.path().join("pay.db").display());
        let pay = civicpay_store::pay::PayStore::connect(&url).await.unwrap();
        let out = f(pay.clone()).await;
        pay.close().await;
        out
    })
}

#[test]
fn audit_verify_catches_an_edited_payment_event_and_a_deleted_ledger_posting() {
    use civicpay_core::payment::PaymentEvent;
    use civicpay_store::pay::PaymentChange;
    let dir = DataDir::new("money-trail");
    let seeded = dir.civicpay(&["demo", "--no-serve"]);
    assert!(seeded.status.success(), "{}", text(&seeded.stderr));
    let at = "2026-11-20T10:00:00Z";
    seed_attempts(
        &dir,
        &[
            ("springfield", "Ana Diaz", "1 Elm St", None, "en", at, "b1"),
            ("lac-vert", "Luc Roy", "2 rue Haute", None, "fr", at, "b1"),
        ],
    );
    let cities = with_store(&dir, async |store| {
        let mut ids = Vec::new();
        for city in ["springfield", "lac-vert"] {
            let slug = civicpay_core::TenantSlug::parse(city).unwrap();
            ids.push(store.tenant_by_slug(&slug).await.unwrap().unwrap().id);
        }
        ids
    });
    // Both paid: events and ledger postings on each city's trail.
    with_pay(&dir, async |pay| {
        for tenant_id in &cities {
            let payment = pay
                .list_payments(
                    tenant_id,
                    &civicpay_store::pay::PaymentFilter {
                        limit: 10,
                        ..Default::default()
                    },
                )
                .await
                .unwrap()
                .remove(0);
            for (event, change) in [
                (PaymentEvent::CardPageOpened, PaymentChange::default()),
                (
                    PaymentEvent::CardSubmitted,
                    PaymentChange {
                        add_attempt: true,
                        ..Default::default()
                    },
                ),
                (
                    PaymentEvent::AuthorisedAndCaptured,
                    PaymentChange {
                        captured: Some(3_500),
                        ..Default::default()
                    },
                ),
            ] {
                pay.transition(tenant_id, &payment.id, event, "test", change)
                    .await
                    .unwrap();
            }
        }
    });
    let clean = dir.civicpay(&["audit", "verify"]);
    let report = text(&clean.stdout);
    assert!(clean.status.success(), "{report}{}", text(&clean.stderr));
    assert!(
        report.contains("ok      money trail of springfield"),
        "{report}"
    );
    assert!(
        report.contains("ok      money trail of lac-vert"),
        "{report}"
    );
    let signed = dir.civicpay(&["audit", "checkpoint"]);
    assert!(signed.status.success(), "{}", text(&signed.stderr));
    assert!(
        text(&signed.stdout).contains("money:"),
        "{}",
        text(&signed.stdout)
    );

    with_pay(&dir, async |pay| {
        civicpay_store::testing::execute_behind_pays_back(
            &pay,
            "DROP TRIGGER payment_events_no_update; DROP TRIGGER ledger_postings_no_delete;
             UPDATE payment_events SET to_status = 'declined' WHERE event = 'authorised_and_captured'
               AND tenant_id = (SELECT tenant_id FROM merchants WHERE slug = 'springfield');
             DELETE FROM ledger_postings WHERE line = 1
               AND tenant_id = (SELECT tenant_id FROM merchants WHERE slug = 'lac-vert');",
        )
        .await
        .unwrap();
    });
    let caught = dir.civicpay(&["audit", "verify"]);
    assert_eq!(caught.status.code(), Some(1));
    let report = text(&caught.stdout);
    let line = |city: &str| {
        report
            .lines()
            .find(|l| l.contains(&format!("money trail of {city}")))
            .unwrap_or_default()
            .to_owned()
    };
    let springfield = line("springfield");
    assert!(
        springfield.starts_with("BROKEN")
            && springfield.contains("payment_event:")
            && springfield.contains("differs"),
        "{report}"
    );
    let lac_vert = line("lac-vert");
    assert!(
        lac_vert.starts_with("BROKEN")
            && lac_vert.contains("ledger_posting:")
            && lac_vert.contains("gone"),
        "{report}"
    );
}

#[path = "cli/headers.rs"]
mod headers;

/// A city's IT person writes a file for their city, checks it, applies it,
/// and later changes one thing; a wrong file is refused whole.
#[test]
fn a_city_is_applied_from_its_file_and_exported_back() {
    let dir = DataDir::new("cityfile");
    let example = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../examples/cities/springfield.toml"
    ))
    .unwrap();
    let ours = example
        .replace("slug = \"springfield\"", "slug = \"shelbyville\"")
        .replace("City of Springfield", "City of Shelbyville");
    let file = dir.write("shelbyville.toml", &ours);

    let first = dir.civicpay(&["city", "apply", &file]);
    assert!(first.status.success(), "{}", text(&first.stderr));
    assert!(text(&first.stdout).contains("+ bill_type.water.gl_code: 100-4410"));
    let list = text(&dir.civicpay(&["city", "list"]).stdout);
    assert!(
        list.contains("shelbyville\tUSD\tAmerica/Chicago\tCity of Shelbyville"),
        "{list}"
    );
    let again = dir.civicpay(&["city", "apply", &file]);
    assert!(again.status.success());
    assert_eq!(text(&again.stdout), "", "the same file changes nothing");
    assert!(text(&again.stderr).contains("changed 0 field(s)"));

    // A dry run says what would change and changes nothing.
    let moved = dir.write(
        "moved.toml",
        &ours.replace("America/Chicago", "America/Denver"),
    );
    let preview = dir.civicpay(&["city", "apply", "--dry-run", &moved]);
    assert!(preview.status.success(), "{}", text(&preview.stderr));
    assert_eq!(
        text(&preview.stdout),
        "~ time_zone: America/Chicago -> America/Denver\n"
    );
    assert!(text(&dir.civicpay(&["city", "list"]).stdout).contains("America/Chicago"));

    // What export writes is the city: applying it changes nothing.
    let exported = dir.civicpay(&["city", "export", "shelbyville"]);
    assert!(exported.status.success(), "{}", text(&exported.stderr));
    let round = dir.write("round.toml", &text(&exported.stdout));
    let applied = dir.civicpay(&["city", "apply", &round]);
    assert_eq!(text(&applied.stdout), "", "{}", text(&applied.stderr));

    // A wrong file (a time zone that does not exist, a bill type without
    // its GL code): every problem with its line, nothing applied.
    let wrong = ours
        .replace("America/Chicago", "America/Atlantis")
        .replace("gl_code = \"100-3510\"\n", "");
    let wrong = dir.write("wrong.toml", &wrong);
    let refused = dir.civicpay(&["city", "apply", &wrong]);
    assert!(!refused.status.success());
    let errors = text(&refused.stderr);
    assert!(errors.contains("line 9: time_zone:"), "{errors}");
    assert!(
        errors.contains("bill_type[1].gl_code: is required"),
        "{errors}"
    );
    assert!(errors.contains("nothing was applied"), "{errors}");
    assert!(text(&dir.civicpay(&["city", "list"]).stdout).contains("America/Chicago"));

    // Paused, the city says so in the list and pay knows at once; resumed,
    // both are back. Doing either twice changes nothing.
    let paused_in_pay = || {
        with_pay(&dir, async |pay| {
            let url = format!("sqlite://{}", dir.path().join("portal.db").display());
            let portal = civicpay_store::Store::connect(&url).await.unwrap();
            let slug = civicpay_core::TenantSlug::parse("shelbyville").unwrap();
            let city = portal.tenant_by_slug(&slug).await.unwrap().unwrap();
            pay.merchant(&city.id).await.unwrap().unwrap().suspended
        })
    };
    let suspended = dir.civicpay(&["city", "suspend", "shelbyville"]);
    assert!(suspended.status.success(), "{}", text(&suspended.stderr));
    assert!(text(&suspended.stderr).contains("city shelbyville: paused"));
    assert!(text(&dir.civicpay(&["city", "list"]).stdout).contains("City of Shelbyville\tpaused"));
    assert!(paused_in_pay());
    let twice = dir.civicpay(&["city", "suspend", "shelbyville"]);
    assert!(
        text(&twice.stderr).contains("already paused"),
        "{}",
        text(&twice.stderr)
    );
    let resumed = dir.civicpay(&["city", "resume", "shelbyville"]);
    assert!(resumed.status.success(), "{}", text(&resumed.stderr));
    assert!(!text(&dir.civicpay(&["city", "list"]).stdout).contains("paused"));
    assert!(!paused_in_pay());

    // A command tells pay of the city it touched only: a second city
    // applied with another portal address leaves the first one's return
    // origins as they were.
    let origins_in_pay = |slug: &str| {
        with_pay(&dir, async |pay| {
            let url = format!("sqlite://{}", dir.path().join("portal.db").display());
            let portal = civicpay_store::Store::connect(&url).await.unwrap();
            let slug = civicpay_core::TenantSlug::parse(slug).unwrap();
            let city = portal.tenant_by_slug(&slug).await.unwrap().unwrap();
            pay.merchant(&city.id)
                .await
                .unwrap()
                .unwrap()
                .return_origins
        })
    };
    let before = origins_in_pay("shelbyville");
    assert!(
        !before.iter().any(|o| o.contains("elsewhere")),
        "{before:?}"
    );
    let second = dir.write(
        "ogdenville.toml",
        &ours.replace("slug = \"shelbyville\"", "slug = \"ogdenville\""),
    );
    let applied = dir.civicpay_with(
        &["city", "apply", &second],
        &[(
            "CIVICPAY_PORTAL_PUBLIC_URL",
            "https://pay.elsewhere.example",
        )],
    );
    assert!(applied.status.success(), "{}", text(&applied.stderr));
    assert!(
        origins_in_pay("ogdenville")
            .iter()
            .any(|o| o == "https://pay.elsewhere.example"),
        "the city it applied"
    );
    assert_eq!(origins_in_pay("shelbyville"), before, "not the other one");
}

/// The key a city's back office checks notices with is printed only for a
/// city that has one, the same each time and the city's own.
#[test]
fn a_citys_back_office_key_is_printed_for_its_receiver() {
    let dir = DataDir::new("backoffice");
    let example = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../examples/cities/springfield.toml"
    ))
    .unwrap();
    let plain = dir.write("plain.toml", &example);
    assert!(dir.civicpay(&["city", "apply", &plain]).status.success());
    let none = dir.civicpay(&["city", "webhook-secret", "springfield"]);
    assert!(!none.status.success());
    assert!(
        text(&none.stderr).contains("no back_office_webhook"),
        "{}",
        text(&none.stderr)
    );
    let told = dir.write(
        "told.toml",
        &example.replace(
            "# back_office_webhook = \"https://erp.springfield.example/civicpay\"",
            "back_office_webhook = \"https://erp.springfield.example/civicpay\"",
        ),
    );
    let applied = dir.civicpay(&["city", "apply", &told]);
    assert!(
        text(&applied.stdout)
            .contains("~ back_office_webhook: none -> https://erp.springfield.example/civicpay"),
        "{}",
        text(&applied.stdout)
    );
    let key = dir.civicpay(&["city", "webhook-secret", "springfield"]);
    assert!(key.status.success(), "{}", text(&key.stderr));
    let printed = text(&key.stdout);
    assert!(
        printed.starts_with("cpbo_") && printed.trim().len() > 40,
        "{printed}"
    );
    assert!(text(&key.stderr).contains("0 not yet taken"));
    assert_eq!(
        text(
            &dir.civicpay(&["city", "webhook-secret", "springfield"])
                .stdout
        ),
        printed
    );
}

impl DataDir {
    /// As [`DataDir::civicpay_with`], with `input` on standard input.
    fn civicpay_input(&self, args: &[&str], env: &[(&str, &str)], input: &str) -> Output {
        use std::io::Write;
        let mut child = Command::new(env!("CARGO_BIN_EXE_civicpay"))
            .args(args)
            .env_remove("DATABASE_URL")
            .env("CIVICPAY_DATA_DIR", &self.0)
            .env("CIVICPAY_LOG", "warn")
            .envs(env.iter().copied())
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
        child.wait_with_output().unwrap()
    }
}

/// Every file under `dir` that holds `needle`.
fn files_holding(dir: &Path, needle: &[u8]) -> Vec<PathBuf> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            found.extend(files_holding(&path, needle));
        } else if std::fs::read(&path).is_ok_and(|b| b.windows(needle.len()).any(|w| w == needle)) {
            found.push(path);
        }
    }
    found
}

/// A city connects its Authorize.Net account: the settings in its file,
/// the transaction key sealed from standard input and never printed or
/// written in clear, and `processor check` naming what is wrong until it
/// works — against the fake, as `processors_url` points it there.
#[test]
fn a_city_connects_its_processor_with_a_sealed_secret_and_a_check() {
    use civicpay_processor_fakes::authorize_net::AuthorizeNetFake;
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let fake = AuthorizeNetFake::new("civicpaylogin", "Right7Key9Value", "USD");
    let router = axum::Router::new().nest("/authorize-net", fake.router());
    let addr = runtime
        .block_on(civicpay_processor_fakes::serve(router))
        .unwrap();
    let processors = format!("http://{addr}");
    let env = [("CIVICPAY_PROCESSORS_URL", processors.as_str())];

    let dir = DataDir::new("processor");
    let example = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../examples/cities/springfield.toml"
    ))
    .unwrap();
    let file = dir.write(
        "springfield.toml",
        &format!(
            "{example}\n[processor]\nkind = \"authorize_net\"\nenvironment = \"sandbox\"\napi_login_id = \"civicpaylogin\"\n"
        ),
    );
    let applied = dir.civicpay(&["city", "apply", &file]);
    assert!(applied.status.success(), "{}", text(&applied.stderr));
    assert!(
        text(&applied.stdout).contains("+ processor")
            || text(&applied.stdout).contains("processor")
    );

    let check = |env: &[(&str, &str)]| {
        dir.civicpay_with(&["processor", "check", "--tenant", "springfield"], env)
    };
    let unset = check(&env);
    assert!(!unset.status.success());
    let said = text(&unset.stderr);
    assert!(
        said.contains("processor.transaction_key") && said.contains("city secret set"),
        "{said}"
    );

    let wrong_name = dir.civicpay_input(
        &[
            "city",
            "secret",
            "set",
            "springfield",
            "processor.client_secret",
        ],
        &[],
        "Right7Key9Value\n",
    );
    assert!(!wrong_name.status.success());
    assert!(text(&wrong_name.stderr).contains("processor.transaction_key"));

    let set = |secret: &str| {
        dir.civicpay_input(
            &[
                "city",
                "secret",
                "set",
                "springfield",
                "processor.transaction_key",
            ],
            &[],
            &format!("{secret}\n"),
        )
    };
    let wrong = set("Wrong1Key2");
    assert!(wrong.status.success(), "{}", text(&wrong.stderr));
    assert!(
        !text(&wrong.stdout).contains("Wrong1Key2"),
        "never printed back"
    );
    let refused = check(&env);
    assert!(!refused.status.success());
    let said = text(&refused.stderr);
    assert!(
        said.contains("processor.api_login_id") && said.contains("processor.transaction_key"),
        "{said}"
    );
    assert_eq!(
        fake.transaction_count(),
        0,
        "refused before anything was made"
    );

    let right = set("Right7Key9Value");
    assert!(right.status.success(), "{}", text(&right.stderr));
    let works = check(&env);
    let said = text(&works.stdout);
    assert!(works.status.success(), "{said}{}", text(&works.stderr));
    assert!(
        said.contains("authorised 0.01 in") && said.contains("voided it in"),
        "{said}"
    );
    assert!(said.contains("the account works"), "{said}");
    assert_eq!(fake.transaction_count(), 1);

    // The secret is in no file civicpay wrote, in the clear; the search
    // finds a copy planted on purpose.
    for secret in ["Right7Key9Value", "Wrong1Key2"] {
        assert_eq!(
            files_holding(dir.path(), secret.as_bytes()),
            Vec::<PathBuf>::new()
        );
        assert_eq!(
            files_holding(&dir.vault_keys(), secret.as_bytes()),
            Vec::<PathBuf>::new()
        );
    }
    dir.write("planted", "..Right7Key9Value..");
    assert_eq!(files_holding(dir.path(), b"Right7Key9Value").len(), 1);

    // A Canadian city on Moneris, the same way.
    let moneris = civicpay_processor_fakes::moneris::MonerisFake::new(
        "lac-vert-client",
        "Moneris4Secret",
        "0123456789101",
        "CAD",
    );
    let router = axum::Router::new().nest("/moneris", moneris.router());
    let addr = runtime
        .block_on(civicpay_processor_fakes::serve(router))
        .unwrap();
    let processors = format!("http://{addr}");
    let env = [("CIVICPAY_PROCESSORS_URL", processors.as_str())];
    let example = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../examples/cities/lac-vert.toml"
    ))
    .unwrap();
    let file = dir.write(
        "lac-vert.toml",
        &format!(
            "{example}\n[processor]\nkind = \"moneris\"\nenvironment = \"sandbox\"\nclient_id = \"lac-vert-client\"\nmerchant_id = \"0123456789101\"\n"
        ),
    );
    let applied = dir.civicpay(&["city", "apply", &file]);
    assert!(applied.status.success(), "{}", text(&applied.stderr));
    let set = dir.civicpay_input(
        &[
            "city",
            "secret",
            "set",
            "lac-vert",
            "processor.client_secret",
        ],
        &[],
        "Moneris4Secret\n",
    );
    assert!(set.status.success(), "{}", text(&set.stderr));
    let works = dir.civicpay_with(&["processor", "check", "--tenant", "lac-vert"], &env);
    let said = text(&works.stdout);
    assert!(works.status.success(), "{said}{}", text(&works.stderr));
    assert!(
        said.contains("Moneris sandbox account") && said.contains("the account works"),
        "{said}"
    );
    assert_eq!(moneris.payment_count(), 1);
    drop(runtime);
}
