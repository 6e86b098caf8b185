//! Proposal batching: commands proposed while a raft round is in flight go into the next
//! entry together, so concurrent writes share one round and one fsync. Every proposer is
//! still answered only after its own command is committed and applied.

use openraft::error::{ClientWriteError, Fatal};
use ports::consensus::ConsensusError;
use std::sync::Arc;

use tokio::sync::{mpsc, oneshot, Semaphore};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::forward::Forwarder;
use crate::leader;
use crate::record::{ApplyResult, LogRecord};
use domain::{Command, Verdict};

/// Most commands in one entry.
const MAX_COMMANDS: usize = 256;
/// Most content bytes in one entry (a batch of large configs is cut here).
const MAX_BYTES: usize = 4 * 1024 * 1024;
/// Proposals waiting for a batch before proposers are made to wait.
pub(crate) const QUEUE: usize = 8192;
/// Batches in their raft round at once. One: while a round is in flight, new proposals
/// pile up, and the next batch takes all of them; with no limit every command would go
/// alone. Two rounds in flight split the waiting proposals unevenly (half the batches held
/// 3 to 7 commands, a tenth over 50), so half the rounds paid a whole fsync for a few
/// commands while the rest waited longer: one round gave 10-20 % more publishes per second
/// at less CPU each, and a tighter p90 (BENCHMARKS.md, the write path).
const IN_FLIGHT: usize = 1;

pub(crate) type Reply = oneshot::Sender<Result<Verdict, ConsensusError>>;

pub(crate) struct Proposal {
    pub(crate) command: Command,
    pub(crate) reply: Reply,
}

/// Takes proposals off `queue` and submits them in batches until every sender is gone or
/// `stop` is cancelled. Each batch's answer is awaited on a task of `rounds`, so that the
/// owner can wait for them at shutdown.
///
/// On a follower a batch goes to the leader as it is ([`Forwarder`]); a leader proposes it.
pub(crate) async fn run(
    forwarder: Forwarder,
    queue: mpsc::Receiver<Proposal>,
    rounds: TaskTracker,
    stop: CancellationToken,
) {
    tokio::select! {
        () = batches(forwarder, queue, &rounds) => {}
        () = stop.cancelled() => {}
    }
}

async fn batches(forwarder: Forwarder, mut queue: mpsc::Receiver<Proposal>, rounds: &TaskTracker) {
    let raft = forwarder.raft.clone();
    let in_flight = Arc::new(Semaphore::new(IN_FLIGHT));
    let mut carry: Option<Proposal> = None;
    loop {
        // Wait for a free round first, so that the batch is formed as late as possible.
        let Ok(permit) = Arc::clone(&in_flight).acquire_owned().await else { return };
        let first = match carry.take() {
            Some(proposal) => proposal,
            None => match queue.recv().await {
                Some(proposal) => proposal,
                None => return,
            },
        };
        let mut bytes = size(&first.command);
        let mut batch = vec![first];
        while batch.len() < MAX_COMMANDS {
            let Ok(next) = queue.try_recv() else { break };
            let next_bytes = size(&next.command);
            if bytes + next_bytes > MAX_BYTES {
                carry = Some(next);
                break;
            }
            bytes += next_bytes;
            batch.push(next);
        }
        let (commands, replies): (Vec<Command>, Vec<Reply>) =
            batch.into_iter().map(|proposal| (proposal.command, proposal.reply)).unzip();
        let record = LogRecord::of(&commands.iter().collect::<Vec<_>>());
        drop(commands);
        if let Some(leader) = elsewhere(&forwarder) {
            let forwarder = forwarder.clone();
            rounds.spawn(async move {
                let _round = permit;
                match forwarder.write(&record, leader).await {
                    Ok(result) => answer_all(replies, result),
                    Err(err) => fail_all(replies, &err),
                }
            });
            continue;
        }
        // Submitted in order here; the answer is awaited elsewhere so the next batch can be
        // formed while this one is in its raft round.
        // A copy is kept for the one case a leader's batch goes elsewhere: it lost the lead
        // before appending it (see `write_error`).
        let kept = record.clone();
        match raft.client_write_ff(record).await {
            Ok(answer) => {
                let forwarder = forwarder.clone();
                rounds.spawn(async move {
                    let _round = permit;
                    match answer.await {
                        Ok(Ok(response)) => answer_all(replies, response.data),
                        Ok(Err(ClientWriteError::ForwardToLeader(to))) => {
                            let leader = to.leader_id.zip(to.leader_node.map(|node| node.addr));
                            match forwarder.write(&kept, leader).await {
                                Ok(result) => answer_all(replies, result),
                                Err(err) => fail_all(replies, &err),
                            }
                        }
                        Ok(Err(err)) => fail_all(replies, &write_error(err)),
                        Err(_) => fail_all(replies, &ConsensusError::ShuttingDown),
                    }
                });
            }
            Err(fatal) => fail_all(replies, &fatal_error(fatal)),
        }
    }
}

/// The leader this node knows of, when it is not this node (`Some(None)`: none is known).
fn elsewhere(forwarder: &Forwarder) -> Option<Option<(u64, String)>> {
    match leader::current(&forwarder.raft) {
        Some((leader, _)) if leader == forwarder.node_id => None,
        known => Some(known),
    }
}

fn answer_all(replies: Vec<Reply>, result: ApplyResult) {
    match result {
        ApplyResult::Batch(results) if results.len() == replies.len() => {
            for (reply, result) in replies.into_iter().zip(results) {
                let _ = reply.send(Ok(result.verdict()));
            }
        }
        ApplyResult::Batch(results) => {
            let cause = BatchMismatch { results: results.len(), commands: replies.len() };
            fail_all(replies, &ConsensusError::Failed(Arc::new(cause)));
        }
        single => {
            for reply in replies {
                let _ = reply.send(Ok(single.verdict()));
            }
        }
    }
}

/// A batch entry applied to a different number of results than it had commands.
#[derive(Debug, thiserror::Error)]
#[error("{results} results for {commands} commands")]
struct BatchMismatch {
    results: usize,
    commands: usize,
}

fn fail_all(replies: Vec<Reply>, err: &ConsensusError) {
    for reply in replies {
        let _ = reply.send(Err(err.clone()));
    }
}

/// A proposal this node made as leader failed for a reason other than losing the lead.
/// (Openraft answers "forward to the leader" only for entries it did not append, or cut
/// off again, so such a batch is sent to the new leader instead: it cannot apply twice.)
fn write_error(err: ClientWriteError<u64, openraft::BasicNode>) -> ConsensusError {
    match err {
        ClientWriteError::ForwardToLeader(_) => ConsensusError::NoLeader,
        ClientWriteError::ChangeMembershipError(err) => ConsensusError::Failed(Arc::new(err)),
    }
}

fn fatal_error(fatal: Fatal<u64>) -> ConsensusError {
    match fatal {
        Fatal::Stopped => ConsensusError::ShuttingDown,
        other => ConsensusError::Fatal(Arc::new(other)),
    }
}

/// Roughly how many bytes a command adds to an entry.
fn size(command: &Command) -> usize {
    match command {
        Command::Config(domain::config::ConfigCommand::Publish { publish, .. })
        | Command::Config(domain::config::ConfigCommand::PublishGray { publish, .. }) => publish.content.len() + 256,
        _ => 256,
    }
}
