//! `klaviyo-dev-tools`: see `klaviyo-dev-tools --help`.
fn main() {
    std::process::exit(klaviyo_cli::run(
        klaviyo_cli::Program::DevTools,
        std::env::args_os().collect(),
        klaviyo_bridge::Binding::Cli,
    ));
}
