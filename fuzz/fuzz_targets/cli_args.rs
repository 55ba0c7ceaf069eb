// Run from the repository root:
//   RUSTC_BOOTSTRAP=1 cargo fuzz run cli_args -- -max_total_time=60
//
// The command line of `isomq` (isomq_cli::check: `cat`, `proxy`, `keygen` and their flags,
// parsed as the tool parses them, no socket opened). The input is the argument list, the
// arguments separated by NUL bytes; its first byte chooses the command put in front: 0
// `cat`, 1 `proxy`, anything else none (the input's first argument is the command). The
// wss:// flags read the file they name: their value is replaced by one of three fixed files
// (a PEM file, a file that is not PEM, a missing one), chosen by the value's first byte, so
// that the target never reads the machine's files.
//
// Checked besides "never panics": parsing is deterministic, a refusal says why (a
// non-empty message), and a command line that parses stops parsing once an unknown flag is
// appended.
#![no_main]

use std::path::PathBuf;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;

/// The three files the wss:// flags may name.
fn files() -> &'static [String; 3] {
    static FILES: OnceLock<[String; 3]> = OnceLock::new();
    FILES.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("isomq-fuzz-cli-{}", std::process::id()));
        let write = |name: &str, text: &[u8]| -> String {
            let path: PathBuf = dir.join(name);
            let _ = std::fs::create_dir_all(&dir);
            let _ = std::fs::write(&path, text);
            path.to_string_lossy().into_owned()
        };
        [
            write(
                "cert.pem",
                b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
            ),
            write("junk.pem", b"not a certificate"),
            dir.join("missing.pem").to_string_lossy().into_owned(),
        ]
    })
}

fn argv(data: &[u8]) -> Vec<String> {
    let Some((&command, rest)) = data.split_first() else {
        return Vec::new();
    };
    let mut argv: Vec<String> = match command {
        0 => vec!["cat".into()],
        1 => vec!["proxy".into()],
        _ => Vec::new(),
    };
    let mut file_next = false;
    for arg in rest.split(|&b| b == 0) {
        if std::mem::take(&mut file_next) {
            let choice = arg.first().map_or(0, |&b| usize::from(b) % 3);
            argv.push(files()[choice].clone());
            continue;
        }
        let arg = String::from_utf8_lossy(arg).into_owned();
        file_next = arg.starts_with("--tls-");
        argv.push(arg);
    }
    argv
}

fuzz_target!(|data: &[u8]| {
    let mut argv = argv(data);
    let first = isomq_cli::check(&argv);
    assert_eq!(
        isomq_cli::check(&argv),
        first,
        "parsing is not deterministic"
    );
    match first {
        Err(e) => assert!(!e.is_empty(), "a refusal without a reason"),
        Ok(()) => {
            let parsed_flags = matches!(argv.first().map(String::as_str), Some("cat" | "proxy"))
                && !argv.iter().any(|a| a == "--help" || a == "-h");
            if parsed_flags {
                argv.push("--no-such-flag".into());
                assert!(
                    isomq_cli::check(&argv).is_err(),
                    "an unknown flag was accepted: {argv:?}"
                );
            }
        }
    }
});
