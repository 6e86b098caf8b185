//! The log entries the writer holds in memory: every entry appended and not yet written,
//! and the most recently written ones, up to a small budget.
//!
//! Openraft reads each entry back right after it is flushed (to apply it, and on a leader to
//! send it to followers). Served from here, that read is a map lookup; from the segment
//! files it was a file read and a decode on raft's core task for every entry, 6 % of a
//! publish's CPU under load.

use std::collections::BTreeMap;

use openraft::EntryPayload;

use crate::record::{CommandV1, LogRecord};
use crate::types::{Entry, LogId};

/// Written entries kept, at most (bytes, roughly): enough for the entries applied and
/// replicated in the next rounds (an entry is one round's batch, a few dozen commands under
/// load), small next to the node's memory. A follower further behind is served from the files.
const WRITTEN_BYTES: usize = 256 << 10;
/// Written entries kept, at most.
const WRITTEN_ENTRIES: usize = 128;

#[derive(Default)]
pub(crate) struct HeldEntries {
    entries: BTreeMap<u64, Held>,
    /// Bytes of the written entries held.
    written_bytes: usize,
    written_count: usize,
}

struct Held {
    entry: Entry,
    bytes: usize,
    written: bool,
}

impl HeldEntries {
    /// Holds `entry` as appended and not yet written (it replaces one at its index).
    pub(crate) fn appended(&mut self, entry: Entry) {
        let bytes = size(&entry);
        self.insert(entry.log_id.index, Held { entry, bytes, written: false });
    }

    /// Marks the entry with `log_id` written, if it is still the one held at its index, and
    /// lets go of the oldest written entries beyond the budget.
    pub(crate) fn written(&mut self, log_id: &LogId) {
        if let Some(held) = self.entries.get_mut(&log_id.index) {
            if held.entry.log_id.leader_id == log_id.leader_id && !held.written {
                held.written = true;
                self.written_bytes += held.bytes;
                self.written_count += 1;
            }
        }
        while self.written_bytes > WRITTEN_BYTES || self.written_count > WRITTEN_ENTRIES {
            let Some(oldest) = self.entries.values().find(|held| held.written).map(|held| held.entry.log_id.index)
            else {
                break;
            };
            self.remove(oldest);
        }
    }

    /// Forgets the entries in `[from, to)` (a truncate or a purge removed them).
    pub(crate) fn forget(&mut self, from: u64, to: u64) {
        let doomed: Vec<u64> = self.entries.range(from..to).map(|(index, _)| *index).collect();
        for index in doomed {
            self.remove(index);
        }
    }

    /// The entries in `[from, to)`, when every one of them is held.
    pub(crate) fn all_of(&self, from: u64, to: u64) -> Option<Vec<Entry>> {
        if from >= to {
            return Some(Vec::new());
        }
        let entries: Vec<Entry> = self.entries.range(from..to).map(|(_, held)| held.entry.clone()).collect();
        let expected = usize::try_from(to - from).ok()?;
        (entries.len() == expected).then_some(entries)
    }

    /// The entries in `[from, to)` not yet written: newer than what the files hold.
    pub(crate) fn unwritten(&self, from: u64, to: u64) -> Vec<Entry> {
        self.entries.range(from..to).filter(|(_, held)| !held.written).map(|(_, held)| held.entry.clone()).collect()
    }

    /// The held entry with the greatest index.
    pub(crate) fn last(&self) -> Option<LogId> {
        self.entries.values().next_back().map(|held| held.entry.log_id)
    }

    fn insert(&mut self, index: u64, held: Held) {
        self.remove(index);
        self.entries.insert(index, held);
    }

    fn remove(&mut self, index: u64) {
        if let Some(held) = self.entries.remove(&index) {
            if held.written {
                self.written_bytes -= held.bytes;
                self.written_count -= 1;
            }
        }
    }
}

/// Roughly the memory an entry holds: its contents and a fixed cost per command.
fn size(entry: &Entry) -> usize {
    const PER_COMMAND: usize = 256;
    let EntryPayload::Normal(record) = &entry.payload else { return PER_COMMAND };
    let content = |command: &CommandV1| match command {
        CommandV1::ConfigPublish { content, .. }
        | CommandV1::ConfigPublishBeta { content, .. }
        | CommandV1::ConfigPublishTag { content, .. } => content.len(),
        _ => 0,
    };
    match record {
        LogRecord::V1(command) => PER_COMMAND + content(command),
        LogRecord::V1Batch(commands) => commands.iter().map(|command| PER_COMMAND + content(command)).sum(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use openraft::CommittedLeaderId;

    fn entry(term: u64, index: u64) -> Entry {
        Entry { log_id: LogId::new(CommittedLeaderId::new(term, 1), index), payload: EntryPayload::Blank }
    }

    /// Entries 1 to `last` of term 1, each appended and then written.
    fn written_through(last: u64) -> HeldEntries {
        let mut held = HeldEntries::default();
        for index in 1..=last {
            held.appended(entry(1, index));
            held.written(&entry(1, index).log_id);
        }
        held
    }

    #[test]
    fn unwritten_entries_are_never_let_go() {
        let mut held = HeldEntries::default();
        for index in 1..=2000 {
            held.appended(entry(1, index));
        }
        assert_eq!(held.all_of(1, 2001).map(|entries| entries.len()), Some(2000));
        assert_eq!(held.unwritten(1, 2001).len(), 2000);
    }

    #[test]
    fn written_entries_are_kept_up_to_the_budget_newest_first() {
        let held = written_through(1000);
        let kept = 1000 - WRITTEN_ENTRIES as u64;
        assert!(held.all_of(1, 1001).is_none(), "the oldest are read from the files");
        assert_eq!(held.all_of(kept + 1, 1001).map(|entries| entries.len()), Some(WRITTEN_ENTRIES));
        assert!(held.unwritten(1, 1001).is_empty());
        assert_eq!(held.last().map(|log_id| log_id.index), Some(1000));
    }

    #[test]
    fn a_write_of_a_replaced_entry_does_not_mark_its_successor() {
        let mut held = HeldEntries::default();
        held.appended(entry(1, 5));
        held.appended(entry(2, 5));
        held.written(&entry(1, 5).log_id);
        assert_eq!(held.unwritten(5, 6).first().map(|entry| entry.log_id), Some(entry(2, 5).log_id));
    }

    #[test]
    fn forgotten_entries_are_gone_and_the_budget_follows() {
        let mut held = written_through(10);
        held.forget(6, u64::MAX);
        assert_eq!(held.last().map(|log_id| log_id.index), Some(5));
        assert!(held.all_of(6, 7).is_none());
        assert_eq!((held.written_count, held.written_bytes), (5, 5 * 256));
    }
}
