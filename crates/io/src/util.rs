//! Atomic-write helpers shared by the NIfTI and HDF5 writers.

use crate::IoError;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

static COUNTER: AtomicUsize = AtomicUsize::new(0);

/// The directory `path` is in; an error naming `path` if that directory does not exist.
pub(crate) fn parent_dir(path: &Path) -> Result<PathBuf, IoError> {
    if path.file_name().is_none() {
        return Err(IoError::invalid(
            path,
            "expected a file path, found a directory path",
        ));
    }
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    if !dir.is_dir() {
        return Err(IoError::NotFound {
            path: path.to_path_buf(),
            detail: format!(
                "its directory {} does not exist; create it first",
                dir.display()
            ),
        });
    }
    Ok(dir)
}

/// A temporary path next to `path` whose name has no dot except in `suffix`:
/// `<stem with dots replaced by _>_tmp-<pid>-<n><suffix>`.
pub(crate) fn sibling_temp(path: &Path, suffix: &str) -> Result<PathBuf, IoError> {
    let dir = parent_dir(path)?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_default();
    let stem = name.strip_suffix(suffix).unwrap_or(&name).replace('.', "_");
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    Ok(dir.join(format!("{stem}_tmp-{}-{n}{suffix}", std::process::id())))
}

/// `<path>.tmp-<pid>` (plus `-<n>` for a second concurrent write from the same process).
pub(crate) fn appended_temp(path: &Path) -> Result<PathBuf, IoError> {
    parent_dir(path)?;
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let mut s: OsString = path.as_os_str().to_owned();
    s.push(format!(".tmp-{}", std::process::id()));
    let first = PathBuf::from(&s);
    if !first.exists() {
        return Ok(first);
    }
    s.push(format!("-{n}"));
    Ok(PathBuf::from(s))
}

/// Flushes `tmp` to disk and renames it over `path` (atomic on POSIX file systems).
pub(crate) fn rename_into_place(tmp: &Path, path: &Path) -> Result<(), IoError> {
    let f = std::fs::File::open(tmp)
        .map_err(|e| IoError::io(tmp, "opening the temporary file to sync it", e))?;
    f.sync_all()
        .map_err(|e| IoError::io(tmp, "syncing the temporary file", e))?;
    drop(f);
    std::fs::rename(tmp, path).map_err(|e| {
        IoError::io(
            path,
            format!("renaming the temporary file {} into place", tmp.display()),
            e,
        )
    })
}

/// Removes a temporary file, ignoring errors (it may not exist).
pub(crate) fn remove_quietly(tmp: &Path) {
    let _ = std::fs::remove_file(tmp);
}
