//! The journal: operations (votes live inside their operation's record, so
//! a vote and the state it moves the operation to are one write), locks,
//! the dedupe keys of chat events and chat adapters' notes, with indexes so
//! a request reads only what it needs (operations by environment and app, by
//! version, unfinished ones), and retention for dedupe keys and notes.
//!
//! - `disk`: [`Store`], the journal in `DATA_DIR/hoist.redb` (redb, every
//!   write one fsynced transaction); `tables`: its tables and how one
//!   operation's index entries are kept; `migrate`: the one-time indexing
//!   of a journal written before the indexes.
//! - `memory`: [`Memory`], the same behaviour without a file.
//! - `kube`: [`KubeJournal`], the journal as objects in the Kubernetes API,
//!   shared by replicas (every write a compare-and-swap).
//! - `index`: what the indexes hold for one operation, shared by both.
//! - `conformance`: the one suite every implementation passes (public so
//!   the Kubernetes journal's integration test runs it against a fake API
//!   server; not part of hoist's interface).

#[doc(hidden)]
pub mod conformance;
mod disk;
mod index;
pub mod kube;
mod memory;
mod migrate;
mod tables;

pub use disk::Store;
pub use kube::KubeJournal;
pub use memory::Memory;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::ports::Journal;
    use std::cell::RefCell;

    #[test]
    fn the_redb_store_conforms() {
        let dirs = RefCell::new(Vec::new());
        conformance::run(|clock| {
            let dir = tempfile::tempdir().unwrap();
            let store = Store::open_with_clock(dir.path(), clock).unwrap();
            dirs.borrow_mut().push(dir);
            Box::new(store)
        });
    }

    #[test]
    fn the_memory_journal_conforms() {
        conformance::run(|clock| Box::new(Memory::with_clock(clock)));
    }

    #[test]
    fn the_store_keeps_everything_across_a_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let clock = std::sync::Arc::new(conformance::At::new(100));
        let mut first = conformance::operation(0, "staging", &["api"], "v1", 10);
        let mut second = conformance::operation(0, "staging", &["api"], "v2", 150);
        {
            let s = Store::open_with_clock(dir.path(), clock.clone()).unwrap();
            s.create(&mut first).unwrap();
            first.enter(crate::engine::State::Healthy, 30);
            s.put(&first).unwrap();
            assert!(s.first_seen("slack:event:Ev1", 5).unwrap());
            s.remember("slack:live:1", "1.2").unwrap();
        }
        let s = Store::open_with_clock(dir.path(), clock).unwrap();
        s.create(&mut second).unwrap();
        assert_eq!((first.id, second.id), (1, 2), "ids are never reused");
        assert_eq!(s.get(1).unwrap().as_ref(), Some(&first));
        assert_eq!(s.unfinished().unwrap(), [second.clone()]);
        assert_eq!(s.of_app("staging", "api").unwrap(), [first, second]);
        assert!(!s.first_seen("slack:event:Ev1", 6).unwrap());
        assert_eq!(s.recall("slack:live:1").unwrap().as_deref(), Some("1.2"));
        // The note's time survived too: it is pruned once old enough (the
        // only unfinished operation began after it was written).
        assert_eq!(s.prune(100).unwrap().notes, 0);
        assert_eq!(s.prune(101).unwrap().notes, 1);
    }

    #[test]
    fn a_record_that_does_not_decode_is_a_corrupt_error() {
        let dir = tempfile::tempdir().unwrap();
        let s = Store::open(dir.path()).unwrap();
        let mut op = conformance::operation(0, "staging", &["api"], "v1", 10);
        s.create(&mut op).unwrap();
        drop(s);
        {
            let db = redb::Database::create(dir.path().join("hoist.redb")).unwrap();
            let tx = db.begin_write().unwrap();
            tx.open_table(tables::OPERATIONS)
                .unwrap()
                .insert(1, b"{not json".as_slice())
                .unwrap();
            tx.commit().unwrap();
        }
        let s = Store::open(dir.path()).unwrap();
        let e = s.get(1).unwrap_err();
        assert_eq!(e.kind(), "journal_corrupt");
        assert!(
            e.report()
                .starts_with("journal: operation 1 does not decode: ")
        );
        // Writing it again repairs it, and its old index entries answer no
        // question wrongly meanwhile.
        op.changes[0].app = "web".into();
        s.put(&op).unwrap();
        assert!(s.of_app("staging", "api").unwrap().is_empty());
        assert_eq!(s.latest("staging", "web").unwrap(), Some(op));
    }
}
