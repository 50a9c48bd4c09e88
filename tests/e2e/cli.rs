//! The `sparta` binary as a newcomer and an operator use it: real processes.

use std::process::{Command, Stdio};

use serde_json::Value;

use crate::harness::*;

fn sparta(dir: &TempDir) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_sparta"));
    command
        .current_dir(&dir.0)
        .env_remove("SPARTA_REDIS_URL")
        .env_remove("SPARTA_DATABASE_URL")
        .env_remove("SPARTA_LISTEN")
        .env("SPARTA_LOG__LEVEL", "warn");
    command
}

fn stdout_of(command: &mut Command) -> String {
    let output = command.output().expect("run sparta");
    assert!(
        output.status.success(),
        "sparta failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("utf-8")
}

/// Runs a command expected to fail and returns its stderr.
fn failure_of(command: &mut Command) -> String {
    let output = command.stdin(Stdio::null()).output().expect("run sparta");
    assert!(!output.status.success(), "expected a failure");
    String::from_utf8(output.stderr).expect("utf-8")
}

/// The README flow on the default embedded store: create a key, serve, submit, read the result,
/// stop with SIGTERM.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn newcomer_flow_with_the_real_binary() {
    let dir = TempDir::new();
    let created = stdout_of(sparta(&dir).args(["tenant", "create", "acme"]));
    let key = created.lines().last().expect("a last line").to_owned();
    assert!(key.starts_with("sk_sparta_"), "{created}");
    assert!(
        dir.0.join("sparta-data/sparta.db").exists(),
        "default SQLite file under ./sparta-data"
    );
    let listed = stdout_of(sparta(&dir).args(["tenant", "list"]));
    assert!(listed.contains("acme"), "{listed}");
    assert!(!listed.contains(&key), "keys are never shown again");
    let again = failure_of(sparta(&dir).args(["tenant", "create", "acme"]));
    assert!(again.contains("already exists"), "{again}");
    let secret = created
        .lines()
        .find_map(|l| l.strip_prefix("webhook signing secret: "))
        .expect("the webhook secret is shown at creation")
        .to_owned();
    assert!(
        sparta_jobs::WebhookSecret::parse(&secret).is_ok(),
        "{created}"
    );
    let rotated = stdout_of(sparta(&dir).args(["tenant", "rotate-webhook-secret", "acme"]));
    let new_secret = rotated.lines().last().expect("a last line");
    assert!(
        new_secret.starts_with("whsec_") && new_secret != secret,
        "{rotated}"
    );
    let unknown = failure_of(sparta(&dir).args(["tenant", "rotate-webhook-secret", "nobody"]));
    assert!(unknown.contains("no tenant named 'nobody'"), "{unknown}");
    // An LLM budget, set and lifted; a negative one refused with one line.
    let budget = stdout_of(sparta(&dir).args([
        "tenant",
        "budget",
        "acme",
        "--monthly-usd",
        "12.5",
        "--daily-usd",
        "1",
    ]));
    assert!(
        budget.contains("$12.500000 a month, $1.000000 a day")
            && budget.contains("$0.000000 spent"),
        "{budget}"
    );
    let lifted = stdout_of(sparta(&dir).args(["tenant", "budget", "acme", "--remove"]));
    assert!(lifted.contains("no budget"), "{lifted}");
    let negative = failure_of(sparta(&dir).args(["tenant", "budget", "acme", "--monthly-usd=-1"]));
    assert!(negative.contains("0 to 1,000,000 US dollars"), "{negative}");

    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    let mut server = sparta(&dir)
        .arg("serve")
        .env("SPARTA_LISTEN", format!("127.0.0.1:{port}"))
        .stdout(Stdio::null())
        .spawn()
        .expect("start sparta serve");
    let base = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::new();
    eventually("sparta serve to answer /healthz", || {
        let http = http.clone();
        let url = format!("{base}/healthz");
        async move {
            http.get(url)
                .send()
                .await
                .is_ok_and(|r| r.status().is_success())
        }
    })
    .await;
    let reply: Value = http
        .post(format!("{base}/v1/jobs"))
        .bearer_auth(&key)
        .json(&example("nutrition"))
        .send()
        .await
        .expect("submit")
        .json()
        .await
        .expect("json");
    let id = reply["data"][0]["id"].as_str().expect("id").to_owned();
    let job: Value = http
        .get(format!("{base}/v1/jobs/{id}?wait=20"))
        .bearer_auth(&key)
        .send()
        .await
        .expect("get")
        .json()
        .await
        .expect("json");
    assert_eq!(job["data"][0]["status"], "succeeded", "{job}");
    assert!(job["data"][0]["output"]["protein_g_per_day"].is_number());

    let pid = server.id().to_string();
    let status = Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("kill");
    assert!(status.success());
    let exit = tokio::task::spawn_blocking(move || server.wait())
        .await
        .expect("join")
        .expect("wait");
    assert!(exit.success(), "graceful shutdown exits 0: {exit:?}");
}

/// A malformed or unreachable URL stops startup with one clear line.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_urls_fail_with_one_clear_line() {
    let dir = TempDir::new();
    let cases = [
        ("SPARTA_DATABASE_URL", "mysql://localhost/db", "database"),
        (
            "SPARTA_DATABASE_URL",
            "postgres://postgres:hunter2@127.0.0.1:1/none",
            "database",
        ),
        ("SPARTA_REDIS_URL", "redis://127.0.0.1:1", "redis"),
        ("SPARTA_REDIS_URL", "http://not-redis", "redis"),
        ("SPARTA_LISTEN", "not-an-address", "configuration"),
    ];
    for (variable, value, mentions) in cases {
        let stderr = failure_of(
            sparta(&dir)
                .arg("api")
                .env("SPARTA_SECRETS__KEY", TEST_SECRETS_KEY)
                .env(variable, value),
        );
        let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
        assert_eq!(lines.len(), 1, "{variable}={value}: {stderr}");
        assert!(lines[0].starts_with("sparta: "), "{stderr}");
        assert!(lines[0].contains(mentions), "{variable}={value}: {stderr}");
        assert!(
            !lines[0].contains("hunter2"),
            "passwords are never printed: {stderr}"
        );
    }
}

/// The operator commands work against Postgres too (and with Redis configured).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operator_commands_work_on_postgres() {
    let dir = TempDir::new();
    let url = fresh_postgres().await;
    let with_pg = |args: &[&str]| {
        let mut command = sparta(&dir);
        command
            .args(args)
            .env("SPARTA_DATABASE_URL", &url)
            .env("SPARTA_SECRETS__KEY", TEST_SECRETS_KEY)
            .env("SPARTA_REDIS_URL", redis_url());
        command
    };
    let migrated = stdout_of(&mut with_pg(&["migrate"]));
    assert!(migrated.contains("migrations applied"), "{migrated}");
    let created = stdout_of(&mut with_pg(&["tenant", "create", "gym-1"]));
    assert!(
        created
            .lines()
            .last()
            .is_some_and(|l| l.starts_with("sk_sparta_")),
        "{created}"
    );
    let listed = stdout_of(&mut with_pg(&["tenant", "list"]));
    assert!(listed.contains("gym-1"), "{listed}");
    assert!(
        !dir.0.join("sparta-data").exists(),
        "no SQLite file when Postgres is configured"
    );

    // Keys: created (printed once, last line), listed without the key, revoked by id.
    let made = stdout_of(&mut with_pg(&["keys", "create", "gym-1", "--name", "ci"]));
    let ci_key = made.lines().last().expect("key line");
    assert!(ci_key.starts_with("sk_sparta_"), "{made}");
    let keys = stdout_of(&mut with_pg(&["keys", "list", "gym-1"]));
    assert!(!keys.contains(ci_key), "{keys}");
    let ci_line = keys
        .lines()
        .find(|l| l.split_whitespace().nth(1) == Some("ci"))
        .unwrap_or_else(|| panic!("no ci key: {keys}"));
    let ci_id = ci_line.split_whitespace().next().expect("id");
    let revoked = stdout_of(&mut with_pg(&["keys", "revoke", "gym-1", ci_id]));
    assert!(revoked.contains("revoked key 'ci'"), "{revoked}");
    let keys = stdout_of(&mut with_pg(&["keys", "list", "gym-1"]));
    let ci_line = keys.lines().find(|l| l.starts_with(ci_id)).expect("ci");
    assert_eq!(
        ci_line.split_whitespace().last().map(|r| r != "-"),
        Some(true),
        "{keys}"
    );
    let unknown = failure_of(&mut with_pg(&["keys", "revoke", "nobody", ci_id]));
    assert!(unknown.contains("no tenant named 'nobody'"), "{unknown}");

    // A tenant disabled and enabled again.
    let disabled = stdout_of(&mut with_pg(&["tenant", "disable", "gym-1"]));
    assert!(disabled.contains("tenant 'gym-1' disabled"), "{disabled}");
    let listed = stdout_of(&mut with_pg(&["tenant", "list"]));
    let gym = listed
        .lines()
        .find(|l| l.ends_with("gym-1"))
        .expect("gym-1");
    assert_ne!(gym.split_whitespace().nth(2), Some("-"), "{listed}");
    let enabled = stdout_of(&mut with_pg(&["tenant", "enable", "gym-1"]));
    assert!(enabled.contains("tenant 'gym-1' enabled"), "{enabled}");

    // Jobs across tenants: a job listed, shown, cancelled; a cancelled job cannot be retried.
    use sparta_jobs::JobStore as _;
    let store =
        sparta_jobs::PgStore::connect(&url, 2, std::time::Duration::from_secs(5), test_keyring())
            .await
            .expect("store");
    let tenant = store
        .list_tenants()
        .await
        .expect("tenants")
        .into_iter()
        .find(|t| t.name.as_str() == "gym-1")
        .expect("gym-1");
    let input = nutrition(70.0)["input"].clone();
    let job = sparta_jobs::NewJob {
        id: sparta_jobs::JobId::new(),
        tenant_id: tenant.id,
        kind: sparta_coach::JobKind::Nutrition,
        athlete_id: sparta_coach::JobInput::parse(sparta_coach::JobKind::Nutrition, &input)
            .expect("the example's input")
            .athlete()
            .cloned(),
        input: input.into(),
        priority: sparta_jobs::Priority::DEFAULT,
        max_attempts: 3,
        idempotency_key: None,
        request_hash: "h".into(),
        webhook_url: None,
        metadata: None,
        request_id: None,
        traceparent: None,
        created_at: chrono::Utc::now(),
    };
    store.insert_job(&job).await.expect("insert");
    let id = job.id.to_string();
    let listed = stdout_of(&mut with_pg(&[
        "jobs", "list", "--tenant", "gym-1", "--status", "queued",
    ]));
    assert!(
        listed
            .lines()
            .any(|l| l.starts_with(&id) && l.contains("gym-1")),
        "{listed}"
    );
    let shown = stdout_of(&mut with_pg(&["jobs", "show", &id]));
    let shown: Value = serde_json::from_str(&shown).expect("JSON");
    assert_eq!(shown["status"], "queued");
    assert_eq!(shown["input"]["athlete"]["bodyweight_kg"], 70.0);
    let cancelled = stdout_of(&mut with_pg(&["jobs", "cancel", &id]));
    assert!(cancelled.contains("cancelled"), "{cancelled}");
    let refused = failure_of(&mut with_pg(&["jobs", "retry", &id]));
    assert!(refused.contains("cancelled"), "{refused}");
}

/// Secrets at rest, embedded: the data folder and its files are the owner's alone, the webhook
/// secret is stored sealed (never the `whsec_` the tenant was shown), and a key rotation with
/// `secrets reseal` moves every stored secret under the new key.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhook_secrets_are_sealed_at_rest_and_resealed_on_key_rotation() {
    use sparta_jobs::secrets::Keyring;
    use sqlx::Connection as _;
    use std::os::unix::fs::PermissionsExt as _;

    let dir = TempDir::new();
    let created = stdout_of(sparta(&dir).args(["tenant", "create", "acme"]));
    let secret = created
        .lines()
        .find_map(|l| l.strip_prefix("webhook signing secret: "))
        .expect("secret shown once")
        .to_owned();
    let data = dir.0.join("sparta-data");
    let mode = |path: &std::path::Path| {
        std::fs::metadata(path)
            .expect("exists")
            .permissions()
            .mode()
            & 0o777
    };
    assert_eq!(mode(&data), 0o700, "the data folder");
    assert_eq!(mode(&data.join("sparta.db")), 0o600, "the database");
    assert_eq!(mode(&data.join("secrets.key")), 0o600, "the generated key");

    let stored = || async {
        let url = format!("sqlite:{}", data.join("sparta.db").display());
        let mut conn = sqlx::SqliteConnection::connect(&url).await.expect("open");
        let value: String = sqlx::query_scalar("SELECT webhook_secret FROM tenants")
            .fetch_one(&mut conn)
            .await
            .expect("row");
        value
    };
    let sealed = stored().await;
    assert!(
        sealed.starts_with("sealed:v1:") && !sealed.contains(&secret),
        "{sealed}"
    );
    let old_key = std::fs::read_to_string(data.join("secrets.key")).expect("key");
    let old = Keyring::new(old_key.trim(), &[]).expect("key");
    assert_eq!(old.open(&sealed).expect("opens").reveal(), secret);

    // Rotation: a new current key, the old one kept as previous until the reseal ran.
    let new_key = stdout_of(sparta(&dir).args(["secrets", "generate-key"]))
        .trim()
        .to_owned();
    let with_keys = |command: &mut Command| {
        command.env("SPARTA_SECRETS__KEY", &new_key).env(
            "SPARTA_SECRETS__PREVIOUS_KEYS",
            format!("[\"{}\"]", old_key.trim()),
        );
    };
    let mut reseal = sparta(&dir);
    reseal.args(["secrets", "reseal"]);
    with_keys(&mut reseal);
    let report = stdout_of(&mut reseal);
    assert!(report.contains("of 1 tenants"), "{report}");
    let mut again = sparta(&dir);
    again.args(["secrets", "reseal"]);
    with_keys(&mut again);
    let report = stdout_of(&mut again);
    assert!(
        report.contains("of 0 tenants") && report.contains("1 already"),
        "{report}"
    );
    let resealed = stored().await;
    let new = Keyring::new(&new_key, &[]).expect("key");
    assert_eq!(
        new.open(&resealed)
            .expect("the new key alone opens it")
            .reveal(),
        secret
    );
    assert!(old.open(&resealed).is_err(), "the old key no longer does");

    // A secret stored in plain text (before sealing existed) is sealed by the next start.
    {
        let url = format!("sqlite:{}", data.join("sparta.db").display());
        let mut conn = sqlx::SqliteConnection::connect(&url).await.expect("open");
        sqlx::query("UPDATE tenants SET webhook_secret = ?1")
            .bind(&secret)
            .execute(&mut conn)
            .await
            .expect("plain text");
    }
    let mut list = sparta(&dir);
    list.args(["tenant", "list"])
        .env("SPARTA_SECRETS__KEY", &new_key);
    stdout_of(&mut list);
    let sealed_again = stored().await;
    assert!(sealed_again.starts_with("sealed:v1:"), "{sealed_again}");
    assert_eq!(new.open(&sealed_again).expect("opens").reveal(), secret);

    // A key missing for a stored secret stops start-up with one line naming the key.
    let stderr = failure_of(sparta(&dir).args(["tenant", "list"]));
    assert!(stderr.contains(new.current_id()), "{stderr}");

    // A Postgres store shared by processes needs the key in settings, said in one line.
    let stderr = failure_of(sparta(&dir).arg("migrate").env(
        "SPARTA_DATABASE_URL",
        "postgres://postgres@127.0.0.1:5432/postgres",
    ));
    assert!(stderr.contains("secrets.key"), "{stderr}");
}

/// `sparta submit` against a running service: a folder of bodies (one refused by the API, one
/// not JSON) and JSON lines on stdin; the summary counts each kind, names every body that did
/// not succeed with the API's error, and the exit status says some did not.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn submit_sends_files_and_stdin_and_summarizes() {
    let dir = TempDir::new();
    let service = start(&embedded_settings(&dir), sparta::Roles::ALL).await;
    let key = create_tenant(&*service.backends().store, "acme").await;
    let api = format!("http://{}", service.local_addr().expect("api address"));

    let bodies = dir.0.join("bodies");
    std::fs::create_dir_all(&bodies).expect("folder");
    let write = |name: &str, text: String| std::fs::write(bodies.join(name), text).expect("write");
    write("a_nutrition.json", example("nutrition").to_string());
    write("b_split.json", example("split").to_string());
    let mut bad = nutrition(70.0);
    bad["input"]["athlete"]["bodyweight_kg"] = serde_json::json!(-5);
    let lines: Vec<String> = (0..3)
        .map(|n| nutrition(60.0 + f64::from(n)).to_string())
        .collect();
    write(
        "c_more.jsonl",
        format!("{}\n\n{}\n{bad}\n", lines[0], lines[1]),
    );
    write("d_broken.json", "{ not json".into());
    write("ignored.txt", "not a body".into());

    let output = sparta(&dir)
        .args(["submit", "--api", &api, "--key", &key, "--concurrency", "4"])
        .arg(&bodies)
        .stdin(Stdio::null())
        .output()
        .expect("sparta submit");
    let stdout = String::from_utf8(output.stdout).expect("utf-8");
    let stderr = String::from_utf8(output.stderr).expect("utf-8");
    assert!(!output.status.success(), "one body was refused: {stdout}");
    assert!(stderr.contains("2 of 6 did not succeed"), "{stderr}");
    let row = |kind: &str| {
        stdout
            .lines()
            .find(|l| l.starts_with(kind))
            .unwrap_or_else(|| panic!("no {kind} row: {stdout}"))
            .split_whitespace()
            .take(6)
            .collect::<Vec<_>>()
            .join(" ")
    };
    // kind, submitted, succeeded, failed, cancelled, refused.
    assert_eq!(row("nutrition"), "nutrition 3 3 0 0 1", "{stdout}");
    assert_eq!(row("split"), "split 1 1 0 0 0", "{stdout}");
    assert!(stdout.contains("4 of 6 succeeded"), "{stdout}");
    let refused = stdout
        .lines()
        .find(|l| l.contains("c_more.jsonl:4"))
        .unwrap_or_else(|| panic!("the refused line is named: {stdout}"));
    assert!(
        refused.contains("400") && refused.contains("input.athlete.bodyweight_kg"),
        "{refused}"
    );
    assert!(stdout.contains("d_broken.json: not JSON"), "{stdout}");

    // JSON lines on stdin; all succeed, exit status 0.
    let mut child = sparta(&dir)
        .args(["submit", "--api", &api, "--key", &key, "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("sparta submit -");
    {
        use std::io::Write as _;
        let mut stdin = child.stdin.take().expect("stdin");
        writeln!(stdin, "{}\n{}", lines[2], example("split")).expect("write stdin");
    }
    let output = child.wait_with_output().expect("wait");
    let stdout = String::from_utf8(output.stdout).expect("utf-8");
    assert!(
        output.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains("2 of 2 succeeded"), "{stdout}");
    service.stop().await;
}
