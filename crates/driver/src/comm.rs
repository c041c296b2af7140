//! Communication between the processes of a run: one process, or MPI ranks.
//!
//! The driver talks to other processes only through [`Comm`], so the same code runs as a
//! single process (no MPI library needed: [`SingleProcess`]) and as MPI ranks
//! (`mpi_comm::MpiComm`, cargo feature `mpi`). Every collective call must be made by
//! all ranks in the same order, and only from the thread that created the communicator
//! (the program's main thread: MPI is initialised with `MPI_THREAD_FUNNELED`); rayon's
//! worker threads never communicate.
//!
//! Everything exchanged is integers (`u64` words), so reductions are exact and their
//! result does not depend on the number of ranks or the order of the additions.

/// Message tags of the campaign protocol (point-to-point messages between rank 0 and the
/// others).
pub mod tag {
    /// A worker asks for work; the words carry the result of its previous run, if any.
    pub const REQUEST: i32 = 1;
    /// Rank 0 assigns a run: the words are `[run index]`.
    pub const ASSIGN: i32 = 2;
    /// Rank 0 tells a worker to stop: no more work.
    pub const STOP: i32 = 3;
    /// Rank 0 tells a busy worker to stop its run (the campaign is being interrupted).
    pub const CANCEL: i32 = 4;
}

/// The operations the driver needs from a group of cooperating processes.
pub trait Comm {
    /// This process's rank, `0..size()`.
    fn rank(&self) -> usize;
    /// Number of processes.
    fn size(&self) -> usize;
    /// A description of the communication library (written into output files).
    fn library(&self) -> String;
    /// Element-wise sum of `buf` over all ranks, left in rank 0's `buf` (the other ranks'
    /// buffers are unspecified afterwards). Collective.
    fn reduce_sum_to_root(&self, buf: &mut [u64]);
    /// True on every rank if `flag` is true on any rank. Collective.
    fn any(&self, flag: bool) -> bool;
    /// The `words` of every rank, concatenated in rank order, on rank 0 (`None`
    /// elsewhere); every rank must pass the same number of words. Collective.
    fn gather_to_root(&self, words: &[u64]) -> Option<Vec<u64>>;
    /// Rank 0's `words` on every rank (the lengths must agree). Collective.
    fn broadcast_from_root(&self, words: &mut [u64]);
    /// Sends `words` to rank `to` with `tag` (point-to-point, buffered or blocking).
    fn send(&self, to: usize, tag: i32, words: &[u64]);
    /// A message from any rank if one has arrived: `(source, tag, words)`; never blocks.
    fn try_receive(&self) -> Option<(usize, i32, Vec<u64>)>;
    /// Waits for the next message from rank `from`: `(tag, words)`.
    fn receive_from(&self, from: usize) -> (i32, Vec<u64>);
}

/// A single process: every collective is the identity and there is nobody to talk to.
#[derive(Clone, Copy, Debug, Default)]
pub struct SingleProcess;

impl Comm for SingleProcess {
    fn rank(&self) -> usize {
        0
    }
    fn size(&self) -> usize {
        1
    }
    fn library(&self) -> String {
        "none (single process)".into()
    }
    fn reduce_sum_to_root(&self, _buf: &mut [u64]) {}
    fn any(&self, flag: bool) -> bool {
        flag
    }
    fn gather_to_root(&self, words: &[u64]) -> Option<Vec<u64>> {
        Some(words.to_vec())
    }
    fn broadcast_from_root(&self, _words: &mut [u64]) {}
    fn send(&self, to: usize, _tag: i32, _words: &[u64]) {
        unreachable!("a single process has no rank {to} to send to")
    }
    fn try_receive(&self) -> Option<(usize, i32, Vec<u64>)> {
        None
    }
    fn receive_from(&self, from: usize) -> (i32, Vec<u64>) {
        unreachable!("a single process has no rank {from} to receive from")
    }
}

/// The MPI implementation (rsmpi against the system's OpenMPI or MPICH).
#[cfg(feature = "mpi")]
pub mod mpi_comm {
    use super::Comm;
    use mpi::collective::SystemOperation;
    use mpi::topology::SimpleCommunicator;
    use mpi::traits::*;

    /// Elements per reduction call: bounds the temporary buffer on rank 0 (32 MiB).
    const REDUCE_BLOCK: usize = 1 << 22;

    /// MPI_COMM_WORLD of an initialised MPI environment.
    pub struct MpiComm {
        // Dropping the universe finalises MPI: it lives as long as the communicator.
        _universe: mpi::environment::Universe,
        world: SimpleCommunicator,
    }

    impl MpiComm {
        /// Initialises MPI (`MPI_THREAD_FUNNELED`: only the main thread communicates).
        /// Started without a launcher, the process is a world of one (singleton
        /// initialisation). Returns `None` if MPI was already initialised.
        pub fn init() -> Option<Self> {
            let (universe, _provided) = mpi::initialize_with_threading(mpi::Threading::Funneled)?;
            let world = universe.world();
            Some(Self {
                _universe: universe,
                world,
            })
        }
    }

    impl Comm for MpiComm {
        fn rank(&self) -> usize {
            self.world.rank() as usize
        }
        fn size(&self) -> usize {
            self.world.size() as usize
        }
        fn library(&self) -> String {
            let v = mpi::environment::library_version().unwrap_or_else(|_| "MPI".into());
            // The library string ends with a NUL character (and often a newline).
            v.trim_matches(|c: char| c == '\0' || c.is_whitespace())
                .lines()
                .next()
                .unwrap_or("MPI")
                .to_string()
        }
        fn reduce_sum_to_root(&self, buf: &mut [u64]) {
            let root = self.world.process_at_rank(0);
            if self.rank() == 0 {
                let mut recv = vec![0u64; buf.len().min(REDUCE_BLOCK)];
                for block in buf.chunks_mut(REDUCE_BLOCK) {
                    let r = &mut recv[..block.len()];
                    root.reduce_into_root(&*block, r, SystemOperation::sum());
                    block.copy_from_slice(r);
                }
            } else {
                for block in buf.chunks(REDUCE_BLOCK) {
                    root.reduce_into(block, SystemOperation::sum());
                }
            }
        }
        fn any(&self, flag: bool) -> bool {
            let mut out = 0u64;
            self.world
                .all_reduce_into(&(flag as u64), &mut out, SystemOperation::max());
            out != 0
        }
        fn gather_to_root(&self, words: &[u64]) -> Option<Vec<u64>> {
            let root = self.world.process_at_rank(0);
            if self.rank() == 0 {
                let mut all = vec![0u64; words.len() * self.size()];
                root.gather_into_root(words, &mut all[..]);
                Some(all)
            } else {
                root.gather_into(words);
                None
            }
        }
        fn broadcast_from_root(&self, words: &mut [u64]) {
            self.world.process_at_rank(0).broadcast_into(words);
        }
        fn send(&self, to: usize, tag: i32, words: &[u64]) {
            self.world
                .process_at_rank(to as i32)
                .send_with_tag(words, tag);
        }
        fn try_receive(&self) -> Option<(usize, i32, Vec<u64>)> {
            let status = self.world.any_process().immediate_probe()?;
            let src = status.source_rank();
            let (words, st) = self
                .world
                .process_at_rank(src)
                .receive_vec_with_tag::<u64>(status.tag());
            Some((st.source_rank() as usize, st.tag(), words))
        }
        fn receive_from(&self, from: usize) -> (i32, Vec<u64>) {
            let (words, st) = self.world.process_at_rank(from as i32).receive_vec::<u64>();
            (st.tag(), words)
        }
    }
}
