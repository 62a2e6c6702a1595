//! `portcullis`: build and inspect bundles, mint development tokens, check requests.
//!
//! Exit codes: 0 allowed / success, 1 denied / a policy test failed, 2 error.

mod admin;
mod commands;
mod files;
mod keyfile;
#[cfg(feature = "serve")]
mod serve;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

/// Portcullis: an edge authorizer for multi-tenant APIs.
#[derive(Parser)]
#[command(name = "portcullis", version, about, propagate_version = true)]
struct Cli {
    /// Print machine-readable JSON instead of text.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Generate an Ed25519 key pair (private and public JWK files).
    Keygen(KeygenArgs),
    /// Build, inspect and verify signed bundles.
    #[command(subcommand)]
    Bundle(BundleCommand),
    /// Mint development tokens.
    #[command(subcommand)]
    Token(TokenCommand),
    /// Decide one request: exit 0 when allowed, 1 when denied, 2 on error.
    Check(CheckArgs),
    /// Decide one request and print every rule considered.
    Explain(CheckArgs),
    /// Show a principal's effective permissions in an environment or at org level.
    Permissions(PermissionsArgs),
    /// Manage users in a policy source, with the delegation rules enforced.
    #[command(subcommand)]
    Users(UsersCommand),
    /// Compile policies and run policy tests.
    #[command(subcommand)]
    Policy(PolicyCommand),
    /// Import and export an organization through the control plane's management API.
    #[command(subcommand)]
    Admin(AdminCommand),
    /// Serve the AuthZEN Authorization API over HTTP from a directory of bundles.
    #[cfg(feature = "serve")]
    Serve(ServeArgs),
}

#[cfg(feature = "serve")]
#[derive(Args)]
struct ServeArgs {
    /// The directory of bundles (`*.bundle`, one per organization), watched for changes.
    #[arg(long)]
    bundles: PathBuf,
    /// Trusted bundle signing keys (Ed25519 JWK files); repeat for rotation.
    #[arg(long = "trust", required = true)]
    trust: Vec<PathBuf>,
    /// Address to listen on; port 0 takes any free port (the first log line names it).
    #[arg(long, default_value = "127.0.0.1:8080")]
    listen: std::net::SocketAddr,
    /// How often to look at the directory for changed bundles, in milliseconds.
    #[arg(long, default_value_t = 1000)]
    poll_ms: u64,
    /// The audience PEP tokens must carry; each issuer's own by default.
    #[arg(long)]
    audience: Option<String>,
    /// The base URL the well-known metadata names; `http://<listen address>` by default.
    #[arg(long)]
    base_url: Option<String>,
    /// Answer with the reason, rule and bundle version in each decision's `context`.
    #[arg(long)]
    reasons: bool,
}

#[derive(Args)]
struct KeygenArgs {
    /// Key id.
    #[arg(long)]
    kid: String,
    /// Where to write the private key (JWK with `d`).
    #[arg(long)]
    private: PathBuf,
    /// Where to write the public key (JWK).
    #[arg(long)]
    public: PathBuf,
}

#[derive(Subcommand)]
enum BundleCommand {
    /// Compile a policy source and sign one bundle per organization.
    Build(BuildArgs),
    /// Print a bundle's header and contents without verifying it.
    Inspect {
        /// The bundle file.
        bundle: PathBuf,
    },
    /// Verify a bundle's signature, freshness and version.
    Verify(VerifyArgs),
}

#[derive(Args)]
struct BuildArgs {
    /// The policy source (JSON).
    policy: PathBuf,
    /// Signing key: a private Ed25519 JWK.
    #[arg(long)]
    key: PathBuf,
    /// Build only this organization's bundle.
    #[arg(long)]
    org: Option<String>,
    /// Bundle version; the source's `version`, else the build time in Unix seconds.
    #[arg(long = "bundle-version")]
    bundle_version: Option<u64>,
    /// Issue instant (Unix seconds or RFC 3339); now by default.
    #[arg(long)]
    issued_at: Option<String>,
    /// Validity in seconds from the issue instant.
    #[arg(long, default_value_t = 30 * 24 * 3600)]
    ttl: i64,
    /// Output file (one organization) or directory (`<org>.bundle` each).
    #[arg(long, short)]
    out: PathBuf,
}

#[derive(Args)]
struct VerifyArgs {
    /// The bundle file.
    bundle: PathBuf,
    /// Trusted public keys (Ed25519 JWK files); repeat for rotation.
    #[arg(long = "trust", required = true)]
    trust: Vec<PathBuf>,
    /// Instant to check against (Unix seconds or RFC 3339); now by default.
    #[arg(long)]
    now: Option<String>,
    /// Lowest version accepted.
    #[arg(long, default_value_t = 0)]
    min_version: u64,
}

#[derive(Subcommand)]
enum TokenCommand {
    /// Sign a development token with a local Ed25519 key.
    Mint(MintArgs),
}

#[derive(Args)]
struct MintArgs {
    /// Issuer signing key: a private Ed25519 JWK.
    #[arg(long)]
    key: PathBuf,
    /// Token kind: orgauth, envauth or service.
    #[arg(long)]
    kind: String,
    /// Issuer (`iss`).
    #[arg(long)]
    iss: String,
    /// Audience (`aud`).
    #[arg(long)]
    aud: String,
    /// Subject (`sub`).
    #[arg(long)]
    sub: String,
    /// Organization (`org`).
    #[arg(long)]
    org: String,
    /// Environment (`env`), for EnvAuth tokens.
    #[arg(long)]
    env: Option<String>,
    /// OAuth2 client id, for service tokens.
    #[arg(long)]
    client_id: Option<String>,
    /// Space-separated scope that narrows the grants.
    #[arg(long)]
    scope: Option<String>,
    /// Lifetime in seconds.
    #[arg(long, default_value_t = 600)]
    ttl: i64,
    /// Token id (`jti`); derived from subject and time by default.
    #[arg(long)]
    jti: Option<String>,
    /// Issue instant (Unix seconds or RFC 3339); now by default.
    #[arg(long)]
    now: Option<String>,
}

#[derive(Args)]
struct BundleSource {
    /// A signed bundle file.
    #[arg(long, conflicts_with = "policy")]
    bundle: Option<PathBuf>,
    /// Trusted bundle keys (Ed25519 public JWK files), with `--bundle`.
    #[arg(long = "trust")]
    trust: Vec<PathBuf>,
    /// Or: a policy source, decided as an unsigned preview.
    #[arg(long)]
    policy: Option<PathBuf>,
    /// With `--policy`: the organization (the token's by default).
    #[arg(long = "policy-org")]
    policy_org: Option<String>,
}

#[derive(Args)]
struct CheckArgs {
    #[command(flatten)]
    source: BundleSource,
    /// The token (compact JWS), or `@file`.
    #[arg(long)]
    token: String,
    /// The permission asked for, `type:verb`.
    #[arg(long)]
    action: String,
    /// Resource type; the action's type by default.
    #[arg(long = "type")]
    resource_type: Option<String>,
    /// Resource id.
    #[arg(long)]
    id: Option<String>,
    /// Environment of the resource; org-level when absent.
    #[arg(long)]
    env: Option<String>,
    /// Organization of the resource, when known.
    #[arg(long)]
    org: Option<String>,
    /// Resource attribute `name=value` (value read as JSON when it parses); repeatable.
    #[arg(long = "attr")]
    attrs: Vec<String>,
    /// Decision instant (Unix seconds or RFC 3339); now by default.
    #[arg(long)]
    now: Option<String>,
}

#[derive(Args)]
struct PermissionsArgs {
    #[command(flatten)]
    source: BundleSource,
    /// The token (compact JWS), or `@file`.
    #[arg(long)]
    token: String,
    /// Environment; org level when absent.
    #[arg(long)]
    env: Option<String>,
    /// Decision instant; now by default.
    #[arg(long)]
    now: Option<String>,
}

#[derive(Subcommand)]
enum UsersCommand {
    /// List users and their roles.
    Show {
        /// The policy source.
        policy: PathBuf,
        /// Organization.
        #[arg(long)]
        org: String,
        /// Only this user.
        #[arg(long)]
        user: Option<String>,
    },
    /// Add a user with a role, if the acting member may assign it.
    Add(UserChange),
    /// Remove a role from a user (the user with all roles when no role is named).
    Remove(UserChange),
}

#[derive(Args)]
struct UserChange {
    /// The policy source, edited in place.
    policy: PathBuf,
    /// Organization.
    #[arg(long)]
    org: String,
    /// The acting member (user id).
    #[arg(long = "as")]
    actor: String,
    /// The user added or changed.
    #[arg(long)]
    user: String,
    /// The role.
    #[arg(long)]
    role: Option<String>,
    /// Environment, for env roles.
    #[arg(long)]
    env: Option<String>,
    /// Instant the delegation rules are checked at; now by default.
    #[arg(long)]
    now: Option<String>,
}

#[derive(Subcommand)]
enum AdminCommand {
    /// Replace an organization in the control plane with the one of a policy file, as the
    /// operator; the control plane publishes its bundle.
    Import {
        /// The policy file.
        policy: PathBuf,
        /// The control plane's base URL (https; http only on 127.0.0.1 or localhost).
        #[arg(long)]
        url: String,
        /// The organization to import from the file.
        #[arg(long)]
        org: String,
        /// The environment variable holding the operator secret.
        #[arg(long, default_value = "PORTCULLIS_OPERATOR_SECRET")]
        secret_env: String,
    },
    /// Write an organization's policy source, as the control plane holds it, to a file.
    Export {
        /// The control plane's base URL.
        #[arg(long)]
        url: String,
        /// The organization.
        #[arg(long)]
        org: String,
        /// An OrgAuth token of the organization (compact JWS, or `@file`).
        #[arg(long)]
        token: String,
        /// Where to write the policy; standard output when absent.
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

#[derive(Subcommand)]
enum PolicyCommand {
    /// Compile a policy source and report every error.
    Check {
        /// The policy source.
        policy: PathBuf,
    },
    /// Run a file of expected decisions.
    Test {
        /// The test file(s).
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let out = commands::Output { json: cli.json };
    let result = match cli.command {
        Command::Keygen(a) => commands::keygen(&out, &a.kid, &a.private, &a.public),
        Command::Bundle(BundleCommand::Build(a)) => commands::bundle_build(
            &out,
            &commands::BuildRequest {
                policy: a.policy,
                key: a.key,
                org: a.org,
                version: a.bundle_version,
                issued_at: a.issued_at,
                ttl: a.ttl,
                out: a.out,
            },
        ),
        Command::Bundle(BundleCommand::Inspect { bundle }) => {
            commands::bundle_inspect(&out, &bundle)
        }
        Command::Bundle(BundleCommand::Verify(a)) => {
            commands::bundle_verify(&out, &a.bundle, &a.trust, a.now.as_deref(), a.min_version)
        }
        Command::Token(TokenCommand::Mint(a)) => commands::token_mint(
            &out,
            &commands::MintRequest {
                key: a.key,
                kind: a.kind,
                iss: a.iss,
                aud: a.aud,
                sub: a.sub,
                org: a.org,
                env: a.env,
                client_id: a.client_id,
                scope: a.scope,
                ttl: a.ttl,
                jti: a.jti,
                now: a.now,
            },
        ),
        Command::Check(a) => commands::check(&out, &check_request(a), false),
        Command::Explain(a) => commands::check(&out, &check_request(a), true),
        Command::Permissions(a) => commands::permissions(
            &out,
            &source(a.source),
            &a.token,
            a.env.as_deref(),
            a.now.as_deref(),
        ),
        Command::Users(UsersCommand::Show { policy, org, user }) => {
            commands::users_show(&out, &policy, &org, user.as_deref())
        }
        Command::Users(UsersCommand::Add(c)) => commands::users_change(&out, &change(c), true),
        Command::Users(UsersCommand::Remove(c)) => commands::users_change(&out, &change(c), false),
        Command::Policy(PolicyCommand::Check { policy }) => commands::policy_check(&out, &policy),
        Command::Policy(PolicyCommand::Test { files }) => commands::policy_test(&out, &files),
        Command::Admin(AdminCommand::Import {
            policy,
            url,
            org,
            secret_env,
        }) => admin::import(&out, &url, &org, &policy, &secret_env),
        Command::Admin(AdminCommand::Export {
            url,
            org,
            token,
            out: path,
        }) => admin::export(&out, &url, &org, &token, path.as_deref()),
        #[cfg(feature = "serve")]
        Command::Serve(a) => keyfile::read_trusted(&a.trust).and_then(|keys| {
            serve::run(serve::ServeOptions {
                bundles: a.bundles,
                keys,
                listen: a.listen,
                poll: std::time::Duration::from_millis(a.poll_ms.max(10)),
                audience: a.audience,
                base_url: a.base_url,
                reasons: a.reasons,
            })
            .map(|()| 0)
        }),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            out.error(&e);
            ExitCode::from(2)
        }
    }
}

fn source(s: BundleSource) -> commands::Source {
    commands::Source {
        bundle: s.bundle,
        trust: s.trust,
        policy: s.policy,
        policy_org: s.policy_org,
    }
}

fn check_request(a: CheckArgs) -> commands::CheckRequest {
    commands::CheckRequest {
        source: source(a.source),
        token: a.token,
        action: a.action,
        resource_type: a.resource_type,
        id: a.id,
        env: a.env,
        org: a.org,
        attrs: a.attrs,
        now: a.now,
    }
}

fn change(c: UserChange) -> commands::UserChangeRequest {
    commands::UserChangeRequest {
        policy: c.policy,
        org: c.org,
        actor: c.actor,
        user: c.user,
        role: c.role,
        env: c.env,
        now: c.now,
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_well_formed() {
        super::Cli::command().debug_assert();
    }
}
