//! Objects hoist writes (a blob, the trees above it, the commit; for a chain
//! of commits, all of them) are kept in memory and stored as one pack file
//! with its index when they are about to be pushed, instead of one loose file
//! per object: on disks where creating a file costs a millisecond, a commit
//! deep in a 10,000-file tree is ten files, and a burst of a hundred commits a
//! thousand. The pack has no deltas; its index is written by gix-pack.

use gix::bstr::ByteSlice;
use gix::objs::Kind;
use std::path::Path;
use std::sync::atomic::AtomicBool;

/// Pack object type codes (gitformat-pack).
fn type_code(kind: Kind) -> u8 {
    match kind {
        Kind::Commit => 1,
        Kind::Tree => 2,
        Kind::Blob => 3,
        Kind::Tag => 4,
    }
}

fn deflate(data: &[u8]) -> std::io::Result<Vec<u8>> {
    use std::io::Write;
    let mut out = gix::zlib::stream::deflate::Write::new(
        Vec::with_capacity(data.len() / 2 + 16),
        gix::zlib::Compression::new(1).unwrap_or_default(),
    );
    out.write_all(data)?;
    out.flush()?;
    Ok(out.into_inner())
}

/// A version 2 pack of `objects`, whole (no deltas), with its SHA-1 trailer.
pub fn encode<'a>(
    objects: impl ExactSizeIterator<Item = (Kind, &'a [u8])>,
) -> std::io::Result<Vec<u8>> {
    let mut pack = Vec::with_capacity(64 * 1024);
    pack.extend_from_slice(b"PACK");
    pack.extend_from_slice(&2u32.to_be_bytes());
    pack.extend_from_slice(&(objects.len() as u32).to_be_bytes());
    for (kind, data) in objects {
        let mut size = data.len();
        let mut byte = (type_code(kind) << 4) | (size & 0x0f) as u8;
        size >>= 4;
        while size > 0 {
            pack.push(byte | 0x80);
            byte = (size & 0x7f) as u8;
            size >>= 7;
        }
        pack.push(byte);
        pack.extend_from_slice(&deflate(data)?);
    }
    let mut hasher = gix::hash::hasher(gix::hash::Kind::Sha1);
    hasher.update(&pack);
    let id = hasher
        .try_finalize()
        .map_err(|e| std::io::Error::other(e.to_string()))?;
    pack.extend_from_slice(id.as_bytes());
    Ok(pack)
}

/// Write `pack` and its index into `objects/pack` of the repo at `git_dir`.
pub fn store(git_dir: &Path, pack: &[u8]) -> Result<(), String> {
    let dir = git_dir.join("objects").join("pack");
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let mut input = pack.as_bytes();
    gix_pack::Bundle::write_to_directory(
        &mut input,
        Some(&dir),
        &mut gix::progress::Discard,
        &AtomicBool::new(false),
        None::<gix::objs::find::Never>,
        gix::hash::Kind::Sha1,
        gix_pack::bundle::write::Options {
            thread_limit: Some(1),
            ..Default::default()
        },
    )
    .map_err(|e| format!("writing a pack: {e}"))
    // gix keeps a fresh pack from `gc` until refs point at it; these objects
    // are referenced (or garbage) by the time anything repacks, and a kept
    // pack would never be combined with the others.
    .and_then(|outcome| match outcome.keep_path {
        Some(keep) => std::fs::remove_file(&keep)
            .or_else(|e| match e.kind() {
                std::io::ErrorKind::NotFound => Ok(()),
                _ => Err(e),
            })
            .map_err(|e| format!("removing {}: {e}", keep.display())),
        None => Ok(()),
    })
}
