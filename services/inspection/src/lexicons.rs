//! The lexicons in force: the shipped starter lexicon, the files the settings name, and those put
//! through the API (stored, so that every replica scans with the same ones). A replica rebuilds
//! its scanner when the stored set changes — it compares the names and hashes, a small read —
//! and a rebuild puts the new automaton in force whole.

use std::{path::PathBuf, sync::Arc};

use govmedia_scanner::{Lexicon, Scanner, ScannerCell};
use sea_orm::DbErr;
use tokio::sync::Mutex;

use crate::{domain::detect::Scanned, store};

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

/// What the scanner in force found in posts it scanned before, per account, so that a check
/// scans only the posts taken since (a daily run would otherwise scan every post of the lookback
/// of every account it checks). Posts never change once taken, so a post scanned by the scanner
/// in force needs no second scan; a new scanner (the lexicons changed) empties it.
///
/// Per account it keeps the sequence numbers of the posts the last check read, and the hits of
/// those that had any (most have none): a post is known exactly when it was read, not by a
/// range. (A highest number read would not do: a post whose transaction commits after a check
/// read a higher-numbered one would be taken as scanned, its wording errors missed.)
#[derive(Debug, Default)]
pub struct Scans {
    inner: std::sync::Mutex<ScansOf>,
}

#[derive(Debug, Default)]
struct ScansOf {
    scanner: Option<Arc<Scanner>>,
    accounts: std::collections::HashMap<String, Seen>,
}

#[derive(Debug, Default)]
struct Seen {
    /// The sequence numbers read, ascending.
    read: Vec<i64>,
    hits: std::collections::HashMap<i64, Scanned>,
}

impl ScansOf {
    /// The accounts seen by `scanner`: emptied when it is not the one they were seen by.
    fn by(&mut self, scanner: &Arc<Scanner>) -> &mut std::collections::HashMap<String, Seen> {
        if !self
            .scanner
            .as_ref()
            .is_some_and(|seen_by| Arc::ptr_eq(seen_by, scanner))
        {
            self.scanner = Some(scanner.clone());
            self.accounts.clear();
        }
        &mut self.accounts
    }
}

impl Scans {
    /// The hits `scanner` found before in each of the posts of `account` numbered `seqs`;
    /// `None` for a post it has not scanned.
    pub fn known(
        &self,
        scanner: &Arc<Scanner>,
        account: &str,
        seqs: &[i64],
    ) -> Vec<Option<Scanned>> {
        let mut inner = self
            .inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let seen = inner.by(scanner).get(account);
        seqs.iter()
            .map(|seq| {
                let seen = seen.filter(|seen| seen.read.binary_search(seq).is_ok())?;
                Some(seen.hits.get(seq).cloned().unwrap_or_default())
            })
            .collect()
    }

    /// Remembers that `scanner` found `scans` in the posts of `account` numbered `seqs` (in
    /// order): every post a check read, so that the hits of posts that left the window are
    /// forgotten.
    pub fn remember(&self, scanner: &Arc<Scanner>, account: &str, seqs: &[i64], scans: &[Scanned]) {
        let mut read = seqs.to_vec();
        read.sort_unstable();
        let hits = seqs
            .iter()
            .zip(scans)
            .filter(|(_, scan)| !scan.title.is_empty() || !scan.text.is_empty())
            .map(|(seq, scan)| (*seq, scan.clone()))
            .collect();
        let mut inner = self
            .inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        inner
            .by(scanner)
            .insert(account.to_owned(), Seen { read, hits });
    }
}

#[cfg(test)]
mod tests {
    use chrono::{DateTime, Duration, Utc};

    use super::*;
    use crate::domain::{MediaKind, Post, Stamp, detect::scan_all};

    fn at(day: i64) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-11-01T00:00:00Z")
            .expect("time")
            .with_timezone(&Utc)
            + Duration::days(day)
    }

    fn post(id: &str, day: i64, text: &str) -> Post {
        Post {
            id: id.into(),
            account: "a".into(),
            organization: "o".into(),
            path: "/o/".into(),
            platform_post_id: id.into(),
            published: at(day),
            title: String::new(),
            text: text.into(),
            links: Vec::new(),
            media: MediaKind::Text,
            reads: 0,
            likes: 0,
            comments: 0,
            shares: 0,
            original: true,
            relayed_from: String::new(),
            content_hash: String::new(),
            received: Stamp {
                time: at(day),
                actor: "c".into(),
                actor_organization: "o".into(),
            },
        }
    }

    fn scan(scanner: &Scanner, posts: &[Post]) -> Vec<Scanned> {
        let texts: Vec<(String, String)> = posts
            .iter()
            .map(|p| (p.title.clone(), p.text.clone()))
            .collect();
        scan_all(scanner, &texts)
    }

    #[test]
    fn posts_seen_by_the_scanner_in_force_are_not_scanned_again() {
        let scanner = Arc::new(Scanner::starter());
        let scans = Scans::default();
        let first = vec![post("p2", 2, "会见南朝鲜代表团"), post("p1", 1, "召开会议")];
        let seqs = [5, 3];
        assert!(
            scans
                .known(&scanner, "a", &seqs)
                .iter()
                .all(Option::is_none)
        );
        scans.remember(&scanner, "a", &seqs, &scan(&scanner, &first));

        // In order: a new post (seq 6); one numbered between those read whose transaction
        // committed after the check read them (seq 4); p2 and p1 again (5, 3); one numbered below
        // everything read, never read (seq 1); one older than what the last check read, which a
        // scheme reaching further back reads now (seq 2).
        let known = scans.known(&scanner, "a", &[6, 4, 5, 3, 1, 2]);
        assert!(known[0].is_none(), "taken after the last check");
        assert!(
            known[1].is_none(),
            "committed after the last check read around it"
        );
        let p2 = known[2].as_ref().expect("p2 was scanned");
        assert_eq!(p2.text.len(), 1, "its hit is kept");
        let p1 = known[3].as_ref().expect("p1 was scanned");
        assert!(p1.text.is_empty() && p1.title.is_empty());
        assert!(known[4].is_none(), "never read, however low its number");
        assert!(known[5].is_none(), "older than what was read");

        // Another scanner (the lexicons changed): nothing is known.
        let other = Arc::new(Scanner::starter());
        assert!(scans.known(&other, "a", &seqs).iter().all(Option::is_none));
        assert!(
            scans
                .known(&scanner, "a", &seqs)
                .iter()
                .all(Option::is_none),
            "a new scanner empties what the old one saw"
        );
    }
}
