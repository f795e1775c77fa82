//! `kubectl sidecarset`: see `kubectl_sidecarset::run`.

use clap::Parser;

fn main() {
    let cli = kubectl_sidecarset::cli::Cli::parse();
    let code = match kubectl_sidecarset::run::run(cli, &mut std::io::stdout().lock()) {
        Ok(code) => code,
        Err(message) => {
            eprintln!("error: {message}");
            1
        }
    };
    std::process::exit(code);
}
