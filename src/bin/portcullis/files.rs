//! What every subcommand shares: the error it reports and reading and writing files.

use std::path::Path;

/// An error with a stable code; the process exits with status 2.
#[derive(Debug)]
pub struct CliError {
    pub code: &'static str,
    pub message: String,
    /// What the code leaves open (a token error's claim, header or malformation).
    pub detail: Option<&'static str>,
}

impl CliError {
    pub fn new(code: &'static str, message: impl Into<String>) -> Self {
        CliError {
            code,
            message: message.into(),
            detail: None,
        }
    }
}

impl From<portcullis::Error> for CliError {
    fn from(e: portcullis::Error) -> Self {
        CliError {
            detail: e.detail(),
            ..CliError::new(e.code(), e.to_string())
        }
    }
}

pub fn read_file(path: &Path) -> Result<Vec<u8>, CliError> {
    std::fs::read(path)
        .map_err(|e| CliError::new("io", format!("cannot read {}: {e}", path.display())))
}

pub fn write_file(path: &Path, bytes: &[u8]) -> Result<(), CliError> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .map_err(|e| CliError::new("io", format!("cannot create {}: {e}", dir.display())))?;
    }
    std::fs::write(path, bytes)
        .map_err(|e| CliError::new("io", format!("cannot write {}: {e}", path.display())))
}
