//! `klaviyo-client`: see `klaviyo-client --help`.
fn main() {
    std::process::exit(klaviyo_cli::run(
        klaviyo_cli::Program::Client,
        std::env::args_os().collect(),
        klaviyo_bridge::Binding::Cli,
    ));
}
