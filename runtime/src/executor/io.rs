//! Where a plan's data come from and where its outputs go: the executor is generic over both,
//! so the same plan runs from an encrypted dataset on disk (the cloud's `train`), from
//! plaintext data encrypted on the fly (the simulator's `simulate`, tests), or from memory.

use crate::backend::Backend;

/// A grid of ciphertexts: `grid[row_block][col_block]`.
pub type Grid<C> = Vec<Vec<C>>;

#[derive(Debug, thiserror::Error)]
pub enum IoError {
    #[error("input `{name}`: {message}")]
    Input { name: String, message: String },
    #[error("output `{name}`: {message}")]
    Output { name: String, message: String },
}

pub trait InputSource<B: Backend> {
    /// A whole (not streamed) secret input, encrypted at the plan's level for it.
    fn secret(&mut self, backend: &B, name: &str) -> Result<Grid<B::Ct>, IoError>;
    /// A public input as a row-major tensor `[rows, cols]` (a vector is `[1, c]`).
    fn public(&mut self, name: &str) -> Result<(Vec<f64>, [usize; 2]), IoError>;
    /// The next batch of a streamed secret input (in the plan's order) and its row count.
    fn next_batch(&mut self, backend: &B, name: &str) -> Result<(Grid<B::Ct>, usize), IoError>;
    /// The size of a named dimension (e.g. the dataset's rows `N`), fixed by the data.
    fn dim(&self, name: &str) -> Option<usize>;
}

pub trait OutputSink<B: Backend> {
    /// One value of an output; `trips` are the trip indices of the enclosing loops
    /// (outermost first; empty outside loops).
    fn output(
        &mut self,
        backend: &B,
        name: &str,
        trips: &[u64],
        grid: &Grid<B::Ct>,
    ) -> Result<(), IoError>;
}

/// A source shared through a [`RefCell`](std::cell::RefCell) is a source: the executor borrows
/// it for each call, so an observer holding the same cell can read where the stream stands
/// between two calls (the cloud's checkpointer records the batches consumed at each trip
/// boundary).
impl<B: Backend, S: InputSource<B>> InputSource<B> for &std::cell::RefCell<S> {
    fn secret(&mut self, backend: &B, name: &str) -> Result<Grid<B::Ct>, IoError> {
        self.borrow_mut().secret(backend, name)
    }
    fn public(&mut self, name: &str) -> Result<(Vec<f64>, [usize; 2]), IoError> {
        self.borrow_mut().public(name)
    }
    fn next_batch(&mut self, backend: &B, name: &str) -> Result<(Grid<B::Ct>, usize), IoError> {
        self.borrow_mut().next_batch(backend, name)
    }
    fn dim(&self, name: &str) -> Option<usize> {
        self.borrow().dim(name)
    }
}

/// A sink shared through a [`RefCell`](std::cell::RefCell) is a sink (see the source's).
impl<B: Backend, S: OutputSink<B>> OutputSink<B> for &std::cell::RefCell<S> {
    fn output(
        &mut self,
        backend: &B,
        name: &str,
        trips: &[u64],
        grid: &Grid<B::Ct>,
    ) -> Result<(), IoError> {
        self.borrow_mut().output(backend, name, trips, grid)
    }
}
