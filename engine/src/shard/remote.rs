//! Cross-thread work for a shard: a queue plus an eventfd the shard's backend watches.
use std::os::fd::RawFd;
use std::sync::mpsc;
use std::sync::Mutex;

use super::ShardState;
use crate::backend::sys;

/// Work sent to a shard from any thread; runs on the shard's thread.
pub(crate) type Task = Box<dyn FnOnce(&mut ShardState) + Send>;

/// The sending half of a shard's task queue. Owns the wake eventfd, so a late sender
/// never writes to a descriptor that was closed and reused.
pub(crate) struct Remote {
    tx: Mutex<mpsc::Sender<Task>>,
    wake_fd: RawFd,
}

impl Remote {
    pub fn new() -> std::io::Result<(Remote, mpsc::Receiver<Task>)> {
        let (tx, rx) = mpsc::channel();
        let wake_fd = sys::eventfd()?;
        Ok((
            Remote {
                tx: Mutex::new(tx),
                wake_fd,
            },
            rx,
        ))
    }

    pub fn wake_fd(&self) -> RawFd {
        self.wake_fd
    }

    /// Queues `task` and wakes the shard. Returns false if the shard is gone.
    pub fn post(&self, task: Task) -> bool {
        let sent = match self.tx.lock() {
            Ok(tx) => tx.send(task).is_ok(),
            Err(_) => false,
        };
        if sent {
            sys::eventfd_signal(self.wake_fd);
        }
        sent
    }
}

impl Drop for Remote {
    fn drop(&mut self) {
        sys::close(self.wake_fd);
    }
}
