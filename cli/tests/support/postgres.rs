//! A PostgreSQL server for one test, on a free loopback port, stopped and removed after. Its
//! binaries are on these machines; `initdb` refuses to run as root, so as root the server is
//! run as the `postgres` user.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};

static SERVERS: AtomicUsize = AtomicUsize::new(0);

pub struct Postgres {
    dir: PathBuf,
    pub port: u16,
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.starts_with(b"0\n"))
}

/// `program args…`, as the postgres user when this process is root.
fn as_owner(program: &str, args: &[&str]) -> Command {
    if is_root() {
        let mut command = Command::new("runuser");
        command.args(["-u", "postgres", "--", program]).args(args);
        command
    } else {
        let mut command = Command::new(program);
        command.args(args);
        command
    }
}

/// A server certificate for `localhost` and the CA that signed it, PEM.
pub struct Certificates {
    pub ca: String,
    pub server: String,
    pub server_key: String,
}

impl Certificates {
    pub fn generate() -> Certificates {
        let ca_key = rcgen::KeyPair::generate().unwrap();
        let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "klaviyo-bridge test CA");
        let ca = ca_params.self_signed(&ca_key).unwrap();
        let issuer = rcgen::Issuer::new(ca_params, ca_key);
        let server_key = rcgen::KeyPair::generate().unwrap();
        let server = rcgen::CertificateParams::new(vec!["localhost".to_string()])
            .unwrap()
            .signed_by(&server_key, &issuer)
            .unwrap();
        Certificates {
            ca: ca.pem(),
            server: server.pem(),
            server_key: server_key.serialize_pem(),
        }
    }
}

impl Postgres {
    pub fn start() -> Postgres {
        Postgres::start_with(None)
    }

    /// A server that takes only TLS connections (`hostssl` in pg_hba.conf), with `tls`'s
    /// server certificate.
    pub fn start_tls_only(tls: &Certificates) -> Postgres {
        Postgres::start_with(Some(tls))
    }

    fn start_with(tls: Option<&Certificates>) -> Postgres {
        let dir = std::env::temp_dir().join(format!(
            "klaviyo-pg-{}-{}",
            std::process::id(),
            SERVERS.fetch_add(1, Ordering::SeqCst)
        ));
        std::fs::create_dir_all(&dir).unwrap();
        if is_root() {
            assert!(
                Command::new("chown")
                    .args(["postgres:postgres", dir.to_str().unwrap()])
                    .status()
                    .unwrap()
                    .success()
            );
        }
        let data = dir.join("data");
        let data = data.to_str().unwrap();
        let init = as_owner(
            "initdb",
            &["-D", data, "-A", "trust", "-U", "postgres", "--no-sync"],
        )
        .output()
        .unwrap();
        assert!(
            init.status.success(),
            "initdb: {}",
            String::from_utf8_lossy(&init.stderr)
        );
        if let Some(tls) = tls {
            let data = Path::new(data);
            std::fs::write(data.join("server.crt"), &tls.server).unwrap();
            std::fs::write(data.join("server.key"), &tls.server_key).unwrap();
            std::fs::write(
                data.join("pg_hba.conf"),
                "local all all trust\nhostssl all all 127.0.0.1/32 trust\n",
            )
            .unwrap();
            let mut conf = std::fs::OpenOptions::new()
                .append(true)
                .open(data.join("postgresql.conf"))
                .unwrap();
            use std::io::Write;
            writeln!(conf, "ssl = on").unwrap();
            // The key must be the server's own and private to it.
            let key = data.join("server.key");
            std::fs::set_permissions(&key, std::os::unix::fs::PermissionsExt::from_mode(0o600))
                .unwrap();
            if is_root() {
                for file in ["server.crt", "server.key", "pg_hba.conf"] {
                    assert!(
                        Command::new("chown")
                            .args(["postgres:postgres", data.join(file).to_str().unwrap()])
                            .status()
                            .unwrap()
                            .success()
                    );
                }
            }
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let options = format!(
            "-p {port} -k {} -c listen_addresses=127.0.0.1 -c fsync=off",
            dir.display()
        );
        let log = dir.join("server.log");
        let started = as_owner(
            "pg_ctl",
            &[
                "-D",
                data,
                "-o",
                &options,
                "-l",
                log.to_str().unwrap(),
                "-w",
                "start",
            ],
        )
        .output()
        .unwrap();
        assert!(
            started.status.success(),
            "pg_ctl start: {}",
            String::from_utf8_lossy(&started.stderr)
        );
        Postgres { dir, port }
    }

    /// The URL of `database` on this server.
    pub fn url(&self, database: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{database}", self.port)
    }

    /// Connection settings for `database` through the server's Unix socket (which a
    /// TLS-only server takes in plain text), for the test's own queries.
    pub fn socket(&self, database: &str) -> String {
        format!(
            "host={} port={} user=postgres dbname={database}",
            self.dir.display(),
            self.port
        )
    }

    /// The URL of `database` through the server's Unix socket (the folder, percent-encoded,
    /// as the host).
    pub fn socket_url(&self, database: &str) -> String {
        let folder = self.dir.display().to_string().replace('/', "%2F");
        format!("postgres://postgres@{folder}:{}/{database}", self.port)
    }

    /// The URL of `database` by the name its TLS certificate carries.
    pub fn url_by_name(&self, database: &str) -> String {
        format!("postgres://postgres@localhost:{}/{database}", self.port)
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        let data = self.dir.join("data");
        let _ = as_owner(
            "pg_ctl",
            &["-D", data.to_str().unwrap(), "-m", "immediate", "stop"],
        )
        .output();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
