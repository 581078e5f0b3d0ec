//! Loading a VoiceXML conformance suite, as a folder or a zip of one, into
//! memory: the files by path relative to the folder holding `manifest.xml`,
//! and the parsed manifest.

use std::collections::BTreeMap;
use std::io::Read as _;
use std::path::{Path, PathBuf};

use super::manifest::{self, ManifestError, TestCase};

/// Bound on one suite file's size: suites hold small documents.
const MAX_FILE: u64 = 16 * 1024 * 1024;

/// Why a suite cannot be loaded.
#[derive(Debug, thiserror::Error)]
pub enum SuiteError {
    /// A file or folder cannot be read.
    #[error("cannot read {}: {source}", path.display())]
    Io {
        /// The path.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The zip archive is damaged or unsupported.
    #[error("cannot read zip {}: {message}", path.display())]
    Zip {
        /// The archive.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
    /// No `manifest.xml` in the suite.
    #[error("no manifest.xml in {}", .0.display())]
    NoManifest(PathBuf),
    /// The manifest is invalid.
    #[error(transparent)]
    Manifest(#[from] ManifestError),
}

/// A loaded suite.
#[derive(Debug, Clone)]
pub struct Suite {
    /// Where the suite came from (for reports).
    pub name: String,
    /// The tests, in manifest order.
    pub tests: Vec<TestCase>,
    /// File contents by `/`-separated path relative to the manifest's folder.
    pub files: BTreeMap<String, Vec<u8>>,
}

impl Suite {
    /// Loads a suite folder or a `.zip` of one. The manifest may sit at the
    /// top or in a sub-folder (the shallowest `manifest.xml` wins).
    pub fn load(path: &Path) -> Result<Self, SuiteError> {
        let io = |source| SuiteError::Io {
            path: path.to_owned(),
            source,
        };
        let all = if path.is_dir() {
            let mut files = BTreeMap::new();
            read_dir(path, "", &mut files, 0)?;
            files
        } else {
            let file = std::fs::File::open(path).map_err(io)?;
            read_zip(path, file)?
        };
        Self::from_files(path.display().to_string(), all).map_err(|e| match e {
            SuiteError::NoManifest(_) => SuiteError::NoManifest(path.to_owned()),
            other => other,
        })
    }

    /// A suite from files in memory (paths `/`-separated).
    pub fn from_files(name: String, all: BTreeMap<String, Vec<u8>>) -> Result<Self, SuiteError> {
        let manifest = all
            .keys()
            .filter(|k| k.rsplit('/').next() == Some("manifest.xml"))
            .min_by_key(|k| (k.matches('/').count(), (*k).clone()))
            .cloned()
            .ok_or_else(|| SuiteError::NoManifest(PathBuf::from(&name)))?;
        let prefix = manifest
            .strip_suffix("manifest.xml")
            .unwrap_or_default()
            .to_owned();
        let src =
            String::from_utf8_lossy(all.get(&manifest).map(Vec::as_slice).unwrap_or_default())
                .into_owned();
        let tests = manifest::parse(&src)?;
        let files = all
            .into_iter()
            .filter_map(|(k, v)| Some((k.strip_prefix(&prefix)?.to_owned(), v)))
            .collect();
        Ok(Self { name, tests, files })
    }
}

/// Folders nest a few levels in any real suite.
const MAX_DEPTH: usize = 16;

fn read_dir(
    dir: &Path,
    rel: &str,
    out: &mut BTreeMap<String, Vec<u8>>,
    depth: usize,
) -> Result<(), SuiteError> {
    let io = |path: &Path| {
        let path = path.to_owned();
        move |source| SuiteError::Io { path, source }
    };
    for entry in std::fs::read_dir(dir).map_err(io(dir))? {
        let entry = entry.map_err(io(dir))?;
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        let key = if rel.is_empty() {
            name
        } else {
            format!("{rel}/{name}")
        };
        let kind = entry.file_type().map_err(io(&path))?;
        if kind.is_dir() && depth < MAX_DEPTH {
            read_dir(&path, &key, out, depth + 1)?;
        } else if kind.is_file() {
            let mut bytes = Vec::new();
            std::fs::File::open(&path)
                .and_then(|f| f.take(MAX_FILE).read_to_end(&mut bytes))
                .map_err(io(&path))?;
            out.insert(key, bytes);
        }
    }
    Ok(())
}

fn read_zip(path: &Path, file: std::fs::File) -> Result<BTreeMap<String, Vec<u8>>, SuiteError> {
    let zip_err = |e: zip::result::ZipError| SuiteError::Zip {
        path: path.to_owned(),
        message: e.to_string(),
    };
    let mut archive = zip::ZipArchive::new(file).map_err(zip_err)?;
    let mut out = BTreeMap::new();
    for i in 0..archive.len() {
        let entry = archive.by_index(i).map_err(zip_err)?;
        if !entry.is_file() {
            continue;
        }
        // `enclosed_name` rejects `..` and absolute paths.
        let Some(name) = entry.enclosed_name() else {
            continue;
        };
        let key = name
            .components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect::<Vec<_>>()
            .join("/");
        let mut bytes = Vec::new();
        entry
            .take(MAX_FILE)
            .read_to_end(&mut bytes)
            .map_err(|source| SuiteError::Io {
                path: path.join(&key),
                source,
            })?;
        out.insert(key, bytes);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use std::io::Write as _;

    use super::*;

    const MANIFEST: &str = r#"<tests><test id="1"><assert id="1" spec="1">x</assert><start uri="1/1.txml"/></test></tests>"#;

    #[test]
    fn finds_manifest_in_subfolder() {
        let mut files = BTreeMap::new();
        files.insert("ir/manifest.xml".to_owned(), MANIFEST.as_bytes().to_vec());
        files.insert("ir/1/1.txml".to_owned(), b"<vxml/>".to_vec());
        files.insert("other.txt".to_owned(), b"x".to_vec());
        let suite = Suite::from_files("s".into(), files).expect("suite");
        assert_eq!(suite.tests.len(), 1);
        assert!(suite.files.contains_key("1/1.txml"));
        assert!(!suite.files.contains_key("other.txt"));
    }

    #[test]
    fn loads_zip() {
        let dir = std::env::temp_dir().join(format!("vxp-conf-zip-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let path = dir.join("suite.zip");
        {
            let file = std::fs::File::create(&path).expect("create");
            let mut zip = zip::ZipWriter::new(file);
            let opts = zip::write::SimpleFileOptions::default();
            zip.start_file("suite/manifest.xml", opts).expect("entry");
            zip.write_all(MANIFEST.as_bytes()).expect("write");
            zip.start_file("suite/1/1.txml", opts).expect("entry");
            zip.write_all(b"<vxml/>").expect("write");
            zip.finish().expect("finish");
        }
        let suite = Suite::load(&path).expect("zip suite");
        assert_eq!(suite.tests[0].start, "1/1.txml");
        assert_eq!(suite.files.get("1/1.txml").map(Vec::len), Some(7));
        std::fs::remove_dir_all(&dir).ok();
    }
}
