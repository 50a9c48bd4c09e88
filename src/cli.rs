//! The command line: `serve | api | worker | migrate | tenant … | secrets …`.

use std::io::Write as _;
use std::path::PathBuf;

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use sparta_jobs::{ApiKey, TenantName, WebhookSecret};

use crate::service::{Roles, Service, connect};
use crate::settings::Settings;

/// SPARTA: strength-training answers as a service.
#[derive(Debug, Parser)]
#[command(name = "sparta", version, about)]
pub struct Cli {
    /// A TOML settings file; `SPARTA_*` environment variables override it.
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Everything in one process: API and workers (embedded SQLite by default).
    Serve,
    /// Only the HTTP API (distributed mode: run as many as you like).
    Api,
    /// Only workers (distributed mode: run as many as you like).
    Worker,
    /// Apply database migrations and exit.
    Migrate,
    /// Print the OpenAPI 3.1 document (the one `/openapi.json` serves) and exit: for client
    /// generators and contract tests, without a running server.
    Openapi,
    /// Manage tenants.
    Tenant {
        /// What to do with tenants.
        #[command(subcommand)]
        command: TenantCommand,
    },
    /// The key that seals webhook signing secrets at rest.
    Secrets {
        /// What to do with it.
        #[command(subcommand)]
        command: SecretsCommand,
    },
    /// Submit request bodies to a running API and wait for their jobs: a progress bar while
    /// they run, then a summary table per kind and every body that did not succeed (exit
    /// status 1 when any did not).
    Submit {
        /// Files (`.json`: one body; `.jsonl`: one per line) and folders of them; none, or
        /// `-`: JSON lines on stdin.
        paths: Vec<PathBuf>,
        /// The API's base URL (default: `http://` and the `listen` setting).
        #[arg(long, env = "SPARTA_API_URL")]
        api: Option<String>,
        /// A tenant's API key.
        #[arg(long, env = "SPARTA_API_KEY", hide_env_values = true)]
        key: String,
        /// Bodies in flight at once.
        #[arg(long, default_value_t = 32)]
        concurrency: usize,
    },
    /// The operator's access.
    Admin {
        /// What to do.
        #[command(subcommand)]
        command: AdminCommand,
    },
    /// Any tenant's jobs (the same as `/v1/admin/jobs`).
    Jobs {
        /// What to do.
        #[command(subcommand)]
        command: JobsCommand,
    },
    /// A tenant's API keys (the same as `/v1/admin/tenants/{id}/keys`).
    Keys {
        /// What to do.
        #[command(subcommand)]
        command: KeysCommand,
    },
}

/// Job commands, across tenants.
#[derive(Debug, Subcommand)]
pub enum JobsCommand {
    /// The newest jobs, one a line.
    List {
        /// Only this tenant's (by name).
        #[arg(long)]
        tenant: Option<String>,
        /// Only in this status (`queued`, `running`, `succeeded`, `failed`, `cancelled`).
        #[arg(long)]
        status: Option<String>,
        /// Only of this kind.
        #[arg(long)]
        kind: Option<String>,
        /// How many.
        #[arg(long, default_value_t = 50)]
        limit: u32,
    },
    /// One job, as JSON (input, output and trace included).
    Show {
        /// The job's id.
        id: String,
    },
    /// Queue a failed job again under its id (its attempts from 0, its trace kept).
    Retry {
        /// The job's id.
        id: String,
    },
    /// Cancel a queued or running job.
    Cancel {
        /// The job's id.
        id: String,
    },
}

/// API key commands. A revocation holds on the next request on every API process.
#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Create a key for a tenant; the key is printed once, alone on the last line.
    Create {
        /// The tenant's name.
        tenant: String,
        /// The key's name (1 to 64 printable characters without spaces).
        #[arg(long, default_value = "cli")]
        name: String,
        /// When it stops working (RFC 3339); never when absent.
        #[arg(long)]
        expires_at: Option<chrono::DateTime<chrono::Utc>>,
    },
    /// List a tenant's keys (never the keys themselves).
    List {
        /// The tenant's name.
        tenant: String,
    },
    /// Revoke one of a tenant's keys, by its id (from `sparta keys list`).
    Revoke {
        /// The tenant's name.
        tenant: String,
        /// The key's id.
        key_id: String,
    },
}

/// Operator commands.
#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Print a fresh operator token (keep it secret: it is shown once) and, on the last line,
    /// the hash to set as `admin.token_hash`.
    Token,
}

/// Secrets-key commands. Rotating the key: set the new key as `secrets.key`, move the old one to
/// `secrets.previous_keys`, run `sparta secrets reseal`, then drop the old key.
#[derive(Debug, Subcommand)]
pub enum SecretsCommand {
    /// Print a fresh random key (32 bytes, base64) for `secrets.key`.
    GenerateKey,
    /// Seal every stored webhook secret under the current key (after a key rotation, or to seal
    /// secrets stored before sealing existed). Safe to run again.
    Reseal,
}

/// Tenant commands.
#[derive(Debug, Subcommand)]
pub enum TenantCommand {
    /// Create a tenant; its API key is printed once, alone on the last line of stdout.
    Create {
        /// Letters, digits, '-', '_' and '.'.
        name: String,
    },
    /// List tenants.
    List,
    /// Disable a tenant: its keys answer 403 from the next request on, on every API process.
    Disable {
        /// The tenant's name.
        name: String,
    },
    /// Enable a disabled tenant again.
    Enable {
        /// The tenant's name.
        name: String,
    },
    /// Set a tenant's LLM budget (the same as `PUT /v1/admin/tenants/{id}/budget`), or remove
    /// it; prints the month's and the day's spend and what is left.
    Budget {
        /// The tenant's name.
        name: String,
        /// The most its jobs may spend on priced models in a calendar month (UTC), in US dollars.
        #[arg(long, required_unless_present = "remove")]
        monthly_usd: Option<f64>,
        /// The most they may spend in a day (UTC), in US dollars.
        #[arg(long, conflicts_with = "remove")]
        daily_usd: Option<f64>,
        /// No budget: no ceiling.
        #[arg(long)]
        remove: bool,
    },
    /// Replace a tenant's webhook signing secret. The old secret keeps signing (beside the new
    /// one) for 24 hours, so receivers can switch over; the new secret is printed once.
    RotateWebhookSecret {
        /// The tenant's name.
        name: String,
    },
}

/// How long a rotated-out webhook secret keeps signing.
pub const WEBHOOK_SECRET_GRACE: std::time::Duration = std::time::Duration::from_secs(24 * 3600);

/// Runs a parsed command line with loaded settings until it is done (or, for the long-running
/// commands, until SIGINT/SIGTERM).
pub async fn run_cli(command: Command, settings: Settings) -> anyhow::Result<()> {
    match command {
        Command::Serve => run_until_signal(&settings, Roles::ALL).await,
        Command::Api => run_until_signal(&settings, Roles::API).await,
        Command::Worker => run_until_signal(&settings, Roles::WORKER).await,
        Command::Openapi => say(&serde_json::to_string_pretty(
            &sparta_api::openapi_document(),
        )?),
        Command::Migrate => {
            let settings = Settings {
                auto_migrate: true,
                ..settings
            };
            connect(&settings).await?;
            say(&format!(
                "migrations applied to {}",
                settings.database_url_redacted()
            ))
        }
        Command::Secrets {
            command: SecretsCommand::GenerateKey,
        } => say(&sparta_jobs::secrets::Keyring::generate_key()),
        Command::Submit {
            paths,
            api,
            key,
            concurrency,
        } => {
            crate::submit::run(crate::submit::SubmitArgs {
                api: api.unwrap_or_else(|| format!("http://{}", settings.listen)),
                key,
                concurrency,
                paths,
            })
            .await
        }
        Command::Admin {
            command: AdminCommand::Token,
        } => {
            let token = sparta_jobs::OperatorToken::generate();
            say(&format!(
                "operator token (shown once; present it as `Authorization: Bearer …`):\n{}\n\
                 set this as admin.token_hash (or SPARTA_ADMIN__TOKEN_HASH):\n{}",
                token.reveal(),
                token.hash().as_str()
            ))
        }
        Command::Secrets {
            command: SecretsCommand::Reseal,
        } => {
            // Connected without the start-up reseal, so the report counts what this run did.
            let settings = Settings {
                auto_migrate: false,
                ..settings
            };
            let backends = connect(&settings).await?;
            backends
                .store
                .migrate()
                .await
                .context("applying database migrations")?;
            let keyring = crate::data_folder::keyring(&settings)?;
            let done = sparta_jobs::store::secrets::reseal(backends.store.as_ref(), &keyring)
                .await
                .context("resealing webhook and token secrets")?;
            say(&format!(
                "resealed the webhook secrets of {} tenants under key {} ({} already were) \
                 and {} HS256 token secrets",
                done.tenants,
                keyring.current_id(),
                done.unchanged,
                done.token_secrets
            ))
        }
        Command::Tenant { command } => {
            let backends = connect(&settings).await?;
            match command {
                TenantCommand::Create { name } => {
                    let name = TenantName::parse(name)?;
                    let key = ApiKey::generate();
                    let secret = WebhookSecret::generate();
                    let tenant = backends
                        .store
                        .create_tenant(&name, &key.hash(), &secret)
                        .await?;
                    say(&format!(
                        "created tenant '{}' ({})\nwebhook signing secret: {}\nits API key, shown only now:\n{}",
                        tenant.name,
                        tenant.id,
                        secret.reveal(),
                        key.reveal()
                    ))
                }
                TenantCommand::RotateWebhookSecret { name } => {
                    let name = TenantName::parse(name)?;
                    let secret = WebhookSecret::generate();
                    let tenant = backends
                        .store
                        .rotate_webhook_secret(&name, &secret, chrono::Utc::now())
                        .await
                        .map_err(|e| match e {
                            sparta_jobs::JobsError::NotFound => {
                                anyhow::anyhow!("no tenant named '{name}'")
                            }
                            other => other.into(),
                        })?;
                    say(&format!(
                        "rotated the webhook secret of '{}'; the previous one keeps signing for {} hours. New secret:\n{}",
                        tenant.name,
                        WEBHOOK_SECRET_GRACE.as_secs() / 3600,
                        secret.reveal()
                    ))
                }
                TenantCommand::List => {
                    let tenants = backends.store.list_tenants().await?;
                    let mut lines = format!(
                        "{:<38} {:<26} {:<26} name",
                        "id", "created_at", "disabled_at"
                    );
                    for tenant in tenants {
                        lines.push_str(&format!(
                            "\n{:<38} {:<26} {:<26} {}",
                            tenant.id.to_string(),
                            tenant.created_at.to_rfc3339_opts(chrono_secs(), true),
                            tenant
                                .disabled_at
                                .map_or("-".into(), |at| at.to_rfc3339_opts(chrono_secs(), true)),
                            tenant.name
                        ));
                    }
                    say(&lines)
                }
                TenantCommand::Budget {
                    ref name,
                    monthly_usd,
                    daily_usd,
                    remove,
                } => {
                    let tenant = tenant_named(&backends, name).await?;
                    let micros = |usd: f64| -> anyhow::Result<i64> {
                        anyhow::ensure!(
                            (0.0..=1_000_000.0).contains(&usd),
                            "a budget is 0 to 1,000,000 US dollars"
                        );
                        // Exact: at most 1e12 micro-dollars.
                        #[allow(clippy::cast_possible_truncation)]
                        Ok((usd * 1e6).round() as i64)
                    };
                    let budget = match (remove, monthly_usd) {
                        (true, _) | (false, None) => None,
                        (false, Some(monthly)) => Some(sparta_jobs::store::Budget {
                            monthly_micros: micros(monthly)?,
                            daily_micros: daily_usd.map(micros).transpose()?,
                        }),
                    };
                    let now = chrono::Utc::now();
                    backends.store.set_budget(tenant.id, budget, now).await?;
                    let usage = backends.store.usage(tenant.id, now).await?;
                    let dollars = |m: i64| format!("${:.6}", m as f64 / 1e6);
                    let ceiling = usage.budget.map_or("no budget".to_owned(), |b| {
                        format!(
                            "{} a month{}",
                            dollars(b.monthly_micros),
                            b.daily_micros
                                .map(|d| format!(", {} a day", dollars(d)))
                                .unwrap_or_default()
                        )
                    });
                    say(&format!(
                        "tenant '{}': {ceiling}; this month {} spent, {} reserved; today {} spent",
                        tenant.name,
                        dollars(usage.used.month_spent),
                        dollars(usage.used.month_reserved),
                        dollars(usage.used.day_spent)
                    ))
                }
                TenantCommand::Disable { ref name } | TenantCommand::Enable { ref name } => {
                    let disable = matches!(command, TenantCommand::Disable { .. });
                    let tenant = tenant_named(&backends, name).await?;
                    let tenant = backends
                        .store
                        .set_tenant_disabled(tenant.id, disable, chrono::Utc::now())
                        .await?;
                    let state = if disable { "disabled" } else { "enabled" };
                    say(&format!("tenant '{}' {state}", tenant.name))
                }
            }
        }
        Command::Jobs { command } => {
            let backends = connect(&settings).await?;
            let job = |id: &str| {
                let store = backends.store.clone();
                let id = id.to_owned();
                async move {
                    let id: sparta_jobs::JobId = id.parse()?;
                    store
                        .find_job(id)
                        .await?
                        .ok_or_else(|| anyhow::anyhow!("no job {id}"))
                }
            };
            match command {
                JobsCommand::List {
                    tenant,
                    status,
                    kind,
                    limit,
                } => {
                    let tenant = match tenant {
                        Some(name) => Some(tenant_named(&backends, &name).await?.id),
                        None => None,
                    };
                    let query = sparta_jobs::ListQuery {
                        status: status.map(|s| s.parse()).transpose()?,
                        kind: kind.map(|k| k.parse()).transpose()?,
                        limit: limit.clamp(1, 1000),
                        ..sparta_jobs::ListQuery::default()
                    };
                    let names: std::collections::HashMap<_, _> = backends
                        .store
                        .list_tenants()
                        .await?
                        .into_iter()
                        .map(|t| (t.id, t.name))
                        .collect();
                    let mut lines = format!(
                        "{:<38} {:<20} {:<18} {:<10} {:>7} created_at",
                        "id", "tenant", "kind", "status", "attempt"
                    );
                    for job in backends.store.list_jobs(tenant, &query).await? {
                        lines.push_str(&format!(
                            "\n{:<38} {:<20} {:<18} {:<10} {:>7} {}",
                            job.id.to_string(),
                            names.get(&job.tenant_id).map_or("?", |n| n.as_str()),
                            job.kind.as_str(),
                            job.status.as_str(),
                            job.attempt,
                            job.created_at.to_rfc3339_opts(chrono_secs(), true)
                        ));
                    }
                    say(&lines)
                }
                JobsCommand::Show { id } => {
                    let view = sparta_jobs::view::JobView::from(job(&id).await?);
                    say(&serde_json::to_string_pretty(&view)?)
                }
                JobsCommand::Retry { id } => {
                    let found = job(&id).await?;
                    let retried = sparta_jobs::submit::retry_one(
                        backends.store.as_ref(),
                        backends.queue.as_ref(),
                        found.tenant_id,
                        found.id,
                        chrono::Utc::now(),
                        std::time::Duration::from_secs(1),
                    )
                    .await?;
                    say(&format!("job {} queued again", retried.id))
                }
                JobsCommand::Cancel { id } => {
                    let found = job(&id).await?;
                    let cancelled = backends
                        .store
                        .cancel_job(found.tenant_id, found.id, chrono::Utc::now())
                        .await?;
                    say(&format!("job {} cancelled", cancelled.id))
                }
            }
        }
        Command::Keys { command } => {
            let backends = connect(&settings).await?;
            match command {
                KeysCommand::Create {
                    tenant,
                    name,
                    expires_at,
                } => {
                    let tenant = tenant_named(&backends, &tenant).await?;
                    let name = sparta_jobs::KeyName::parse(name)?;
                    let now = chrono::Utc::now();
                    if expires_at.is_some_and(|at| at <= now) {
                        anyhow::bail!("--expires-at must be in the future");
                    }
                    let key = ApiKey::generate();
                    let record = backends
                        .store
                        .create_api_key(tenant.id, &name, &key.hash(), expires_at, now)
                        .await?;
                    say(&format!(
                        "created key '{}' ({}) for tenant '{}'; the key, shown only now:\n{}",
                        record.name,
                        record.id,
                        tenant.name,
                        key.reveal()
                    ))
                }
                KeysCommand::List { tenant } => {
                    let tenant = tenant_named(&backends, &tenant).await?;
                    let time = |at: Option<chrono::DateTime<chrono::Utc>>| {
                        at.map_or("-".into(), |at| at.to_rfc3339_opts(chrono_secs(), true))
                    };
                    let mut lines = format!(
                        "{:<38} {:<20} {:<26} {:<26} {:<26} revoked_at",
                        "id", "name", "created_at", "last_used_at", "expires_at"
                    );
                    for key in backends.store.list_api_keys(tenant.id).await? {
                        lines.push_str(&format!(
                            "\n{:<38} {:<20} {:<26} {:<26} {:<26} {}",
                            key.id.to_string(),
                            key.name,
                            time(Some(key.created_at)),
                            time(key.last_used_at),
                            time(key.expires_at),
                            time(key.revoked_at)
                        ));
                    }
                    say(&lines)
                }
                KeysCommand::Revoke { tenant, key_id } => {
                    let tenant = tenant_named(&backends, &tenant).await?;
                    let id: sparta_jobs::ApiKeyId = key_id.parse()?;
                    let record = backends
                        .store
                        .revoke_api_key(tenant.id, id, chrono::Utc::now())
                        .await
                        .map_err(|e| match e {
                            sparta_jobs::JobsError::NotFound => {
                                anyhow::anyhow!("tenant '{}' has no key {id}", tenant.name)
                            }
                            other => other.into(),
                        })?;
                    say(&format!("revoked key '{}' ({})", record.name, record.id))
                }
            }
        }
    }
}

/// The tenant called `name`, or an error saying there is none.
async fn tenant_named(
    backends: &sparta_jobs::Backends,
    name: &str,
) -> anyhow::Result<sparta_jobs::Tenant> {
    let name = TenantName::parse(name)?;
    backends
        .store
        .list_tenants()
        .await?
        .into_iter()
        .find(|t| t.name == name)
        .ok_or_else(|| anyhow::anyhow!("no tenant named '{name}'"))
}

fn chrono_secs() -> chrono::SecondsFormat {
    chrono::SecondsFormat::Secs
}

/// Command output goes to stdout (logs go to stderr).
fn say(text: &str) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    writeln!(out, "{text}").context("writing to stdout")
}

async fn run_until_signal(settings: &Settings, roles: Roles) -> anyhow::Result<()> {
    let service = Service::start(settings, roles).await?;
    let token = service.shutdown_token();
    tokio::spawn(async move {
        shutdown_signal().await;
        tracing::info!("shutdown requested");
        token.cancel();
    });
    service.wait().await;
    Ok(())
}

/// SIGINT (Ctrl-C) or SIGTERM.
async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = interrupt => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = interrupt.await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = interrupt.await;
    }
}
