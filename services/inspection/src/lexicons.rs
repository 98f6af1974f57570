//! The lexicons in force: the shipped starter lexicon, the files the settings name, and those put
//! through the API (stored, so that every replica scans with the same ones). A replica rebuilds
//! its scanner when the stored set changes — it compares the names and hashes, a small read —
//! and a rebuild puts the new automaton in force whole.

use std::{path::PathBuf, sync::Arc};

use govmedia_scanner::{Lexicon, Scanner, ScannerCell};
use sea_orm::DbErr;
use tokio::sync::Mutex;

use crate::store;

/// The lexicons of the settings' files, read at start.
#[derive(Clone, Debug)]
pub struct FileLexicon {
    /// The file name without extension.
    pub name: String,
    /// The file's text.
    pub text: String,
}

/// Reads the lexicon files `paths`; a file that cannot be read or has a bad line is refused with
/// its name (and line).
pub fn read_files(paths: &[PathBuf]) -> Result<Vec<FileLexicon>, String> {
    let mut files = Vec::with_capacity(paths.len());
    for path in paths {
        let name = path
            .file_stem()
            .and_then(|stem| stem.to_str())
            .unwrap_or_default()
            .to_owned();
        let text = std::fs::read_to_string(path).map_err(|error| {
            format!(
                "inspection.lexicon_files: {} cannot be read: {error}",
                path.display()
            )
        })?;
        Lexicon::parse(&text).map_err(|error| {
            format!(
                "inspection.lexicon_files: {} line {}: {}",
                path.display(),
                error.line,
                error.message
            )
        })?;
        files.push(FileLexicon { name, text });
    }
    Ok(files)
}

/// The scanner of the lexicons in force, rebuilt when the stored ones change.
#[derive(Debug)]
pub struct InForce {
    cell: ScannerCell,
    files: Vec<FileLexicon>,
    /// The names and hashes of the stored lexicons the scanner was built with.
    built_from: Mutex<Option<Vec<(String, String)>>>,
}

impl InForce {
    /// The starter lexicon and `files`; stored lexicons join at the first [`InForce::scanner`].
    pub fn new(files: Vec<FileLexicon>) -> Self {
        InForce {
            cell: ScannerCell::new(Scanner::starter()),
            files,
            built_from: Mutex::new(None),
        }
    }

    /// The scanner of every lexicon in force now.
    pub async fn scanner(
        &self,
        conn: &impl sea_orm::ConnectionTrait,
    ) -> Result<Arc<Scanner>, DbErr> {
        // Every check and scan asks: the names and hashes only, the files when they changed.
        let seen = store::lexicons::hashes(conn).await?;
        let mut built_from = self.built_from.lock().await;
        if built_from.as_ref() == Some(&seen) {
            return Ok(self.cell.current());
        }
        let stored = store::lexicons::all(conn).await?;
        let seen: Vec<(String, String)> = stored
            .iter()
            .map(|record| (record.name.clone(), record.sha256.clone()))
            .collect();
        // The starter lexicon comes first of itself.
        let mut texts: Vec<(String, String)> = Vec::new();
        texts.extend(self.files.iter().map(|f| (f.name.clone(), f.text.clone())));
        texts.extend(stored.into_iter().map(|record| (record.name, record.text)));
        let borrowed: Vec<(&str, &str)> = texts
            .iter()
            .map(|(name, text)| (name.as_str(), text.as_str()))
            .collect();
        let scanner = self
            .cell
            .load(&borrowed)
            .map_err(|error| DbErr::Custom(format!("a stored lexicon does not load: {error}")))?;
        *built_from = Some(seen);
        Ok(scanner)
    }

    /// SHA-256 (hex) of every lexicon in force: the starter lexicon's version, the files' and
    /// the stored lexicons' names and texts. A different fingerprint means a post may hit
    /// differently.
    pub async fn fingerprint(&self, conn: &impl sea_orm::ConnectionTrait) -> Result<String, DbErr> {
        use sha2::{Digest, Sha256};
        let mut hasher = Sha256::new();
        hasher.update(Lexicon::starter().version.as_bytes());
        for file in &self.files {
            hasher.update([0]);
            hasher.update(file.name.as_bytes());
            hasher.update([0]);
            hasher.update(Sha256::digest(file.text.as_bytes()));
        }
        for (name, sha256) in store::lexicons::hashes(conn).await? {
            hasher.update([1]);
            hasher.update(name.as_bytes());
            hasher.update([0]);
            hasher.update(sha256.as_bytes());
        }
        Ok(hasher
            .finalize()
            .iter()
            .map(|byte| format!("{byte:02x}"))
            .collect())
    }

    /// The lexicons of the settings' files.
    pub fn files(&self) -> &[FileLexicon] {
        &self.files
    }
}
